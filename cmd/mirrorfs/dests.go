package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/mirrorfs/mirrorfs/config"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// destination is one engine of a mount: each destination has its own
// queue, retries, stuck list, journal and status, so one that is down or
// slow never holds up the others.
type destination struct {
	name    string // mirror.Config.DestName: the section's name, or the destination string
	dc      config.DestConfig
	cfg     mirror.Config
	engine  *mirror.Engine
	exclude *mirror.Exclude
	log     *slog.Logger
}

// newDestinations checks each destination's own settings (destination
// string, password file) before anything is mounted.
func newDestinations(cfg config.Config, log *slog.Logger) ([]*destination, error) {
	ecfgs, err := cfg.Engines()
	if err != nil {
		return nil, withCode(exitcode.Usage, err)
	}
	dcs := cfg.Dests
	if len(dcs) != len(ecfgs) { // a Config built without Load
		dcs = []config.DestConfig{{Dest: cfg.Dest, PasswordFile: cfg.PasswordFile, Compress: cfg.Compress, Exclude: cfg.Exclude, ExcludeI: cfg.ExcludeI, Transport: cfg.Transport}}
	}
	ds := make([]*destination, len(ecfgs))
	for i, ecfg := range ecfgs {
		d := &destination{name: ecfg.DestName(), dc: dcs[i], cfg: ecfg, log: log}
		if len(ecfgs) > 1 {
			d.log = log.With("destination", d.name) // rsync runs add "dest"
		}
		if pf := ecfg.PasswordFile; pf != "" {
			if err := mirror.CheckPasswordFile(pf); err != nil {
				return nil, withCode(exitcode.Dest, d.named(len(ecfgs), err))
			}
		}
		ds[i] = d
	}
	return ds, nil
}

// named prefixes err with the destination's name when there are several.
func (d *destination) named(n int, err error) error {
	if n < 2 || err == nil {
		return err
	}
	return fmt.Errorf("destination %s: %w", d.name, err)
}

// probeAll checks every destination at once: a refusing one is fatal and
// named, an unreachable one only logged (its changes queue).
func probeAll(ctx context.Context, ds []*destination) error {
	errs := make([]error, len(ds))
	eachDest(ds, func(i int, d *destination) { errs[i] = probe(ctx, d.cfg, d.log) })
	for i, err := range errs {
		if err != nil {
			return withCode(exitcode.Dest, ds[i].named(len(ds), err))
		}
	}
	return nil
}

// eachDest runs f for every destination at once and waits for all.
func eachDest(ds []*destination, f func(i int, d *destination)) {
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Go(func() { f(i, d) })
	}
	wg.Wait()
}

// pick selects the destinations a control request names: all for "", else
// the one whose name or destination string it is.
func pick(ds []*destination, name string) ([]*destination, error) {
	if name == "" {
		return ds, nil
	}
	for _, d := range ds {
		if name == d.name || name == d.dc.Dest || name == d.cfg.Dest.String() {
			return []*destination{d}, nil
		}
	}
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.name
	}
	return nil, fmt.Errorf("no destination %q on this mount: its destinations are %s", name, strings.Join(names, ", "))
}

// pickOne is pick for commands that read one destination: with several,
// the request must name it.
func pickOne(ds []*destination, name string) (*destination, error) {
	if name == "" && len(ds) > 1 {
		return nil, fmt.Errorf("this mount has %d destinations (%s): name one with --dest", len(ds), destNames(ds))
	}
	picked, err := pick(ds, name)
	if err != nil {
		return nil, err
	}
	return picked[0], nil
}

func destNames(ds []*destination) string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.name
	}
	return strings.Join(names, ", ")
}
