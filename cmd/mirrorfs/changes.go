package main

import (
	"github.com/mirrorfs/mirrorfs/internal/changelog"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// changeHooks are the inotifywait-style extras of a mount: the change
// log (each destination has its own exclude filter).
type changeHooks struct {
	clog *changelog.Logger
}

// setupChanges wires each destination's exclude and excludei, and the
// change log, into the engines' configurations. The change log follows
// the first destination: one line per change, as inotifywait writes.
func (in *instance) setupChanges(dests []*destination) error {
	in.changes = &changeHooks{}
	for _, d := range dests {
		x, err := mirror.NewExclude(nonEmpty(d.dc.Exclude), nonEmpty(d.dc.ExcludeI))
		if err != nil {
			return withCode(exitcode.Usage, d.named(len(dests), err))
		}
		d.cfg.Exclude, d.exclude = x, x
	}
	opts := changelog.Options{
		File:    in.cfg.ChangelogFile,
		Syslog:  in.cfg.ChangelogSyslog,
		Format:  in.cfg.Format,
		TimeFmt: in.cfg.TimeFmt,
		Events:  in.cfg.Events,
		Root:    in.cfg.Mountpoint,
		Log:     in.log,
	}
	if !opts.Enabled() {
		return nil
	}
	l, err := changelog.New(opts)
	if err != nil {
		return withCode(exitcode.Usage, err)
	}
	in.changes.clog = l
	dests[0].cfg.OnShipped = l.Shipped
	return nil
}

// closeChanges closes the change log once nothing ships any more.
func (in *instance) closeChanges() {
	if in.changes == nil || in.changes.clog == nil {
		return
	}
	if err := in.changes.clog.Close(); err != nil {
		in.log.Warn("closing the change log", "file", in.cfg.ChangelogFile, "err", err)
	}
	in.changes.clog = nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
