package metrics

import (
	"fmt"
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/mirrorfs/mirrorfs/mirror"
)

// Registry holds the mirrorfs collector of one mount and the Go and
// process collectors of the serving process.
type Registry struct {
	reg *prometheus.Registry
}

// New builds the registry of a running mount: snapshot returns one
// Status per destination and is called at every scrape.
func New(mount string, snapshot func() []mirror.Status) *Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(mount, snapshot),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Registry{reg: reg}
}

// Handler serves the registry in the format the scraper asks for.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// WriteText writes the mirrorfs series of statuses in the text exposition
// format, as node_exporter's textfile collector reads it. The Go and
// process series are left out: they would describe the caller, not the
// mount.
func WriteText(w io.Writer, mount string, statuses []mirror.Status) error {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(newCollector(mount, func() []mirror.Status { return statuses })); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	families, err := reg.Gather()
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return fmt.Errorf("metrics: writing %s: %w", f.GetName(), err)
		}
	}
	return nil
}
