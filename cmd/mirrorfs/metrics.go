package main

import (
	"context"
	"io"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/metrics"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// startMetrics serves /metrics when metrics-listen is set. It runs before
// the mount: an address we cannot have stops mirrorfs there.
func (in *instance) startMetrics(engines ...*mirror.Engine) error {
	if in.cfg.MetricsListen == "" {
		return nil
	}
	a, err := metrics.ParseAddr(in.cfg.MetricsListen)
	if err != nil {
		return codef(exitcode.Usage, "metrics-listen %q: %w", in.cfg.MetricsListen, err)
	}
	reg := metrics.New(in.cfg.Mountpoint, func() []mirror.Status { return statuses(engines) })
	if in.metrics, err = metrics.Serve(a, reg.Handler(), in.log); err != nil {
		return codef(exitcode.Usage, "%w (set metrics-listen to a free address, or stop what listens there)", err)
	}
	if !a.Loopback() {
		in.log.Warn("metrics endpoint reachable from other machines: anyone who can connect sees the mount's paths and destination", "addr", a.String())
	}
	in.log.Info("serving metrics", "addr", in.metrics.Addr().String(), "path", "/metrics")
	return nil
}

func statuses(engines []*mirror.Engine) []mirror.Status {
	out := make([]mirror.Status, 0, len(engines))
	for _, e := range engines {
		out = append(out, e.Status())
	}
	return out
}

// stopMetrics closes the endpoint, letting a running scrape finish.
func (in *instance) stopMetrics() {
	if in.metrics == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := in.metrics.Close(ctx); err != nil {
		in.log.Debug("metrics endpoint close", "err", err)
	}
	in.metrics = nil
}

// writePrometheus prints a mount's status as the endpoint would serve it
// (less the Go and process series of the server): one series per
// destination.
func writePrometheus(w io.Writer, st statusView) error {
	sts := make([]mirror.Status, 0, len(st.Destinations))
	for _, d := range st.Destinations {
		sts = append(sts, d.Status)
	}
	if len(sts) == 0 { // a mirrorfs from before several destinations
		sts = append(sts, st.Status)
	}
	return metrics.WriteText(w, st.Mountpoint, sts)
}
