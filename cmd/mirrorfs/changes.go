package main

import (
	"github.com/mirrorfs/mirrorfs/internal/changelog"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// changeHooks are the inotifywait-style extras of a mount: the exclude
// filter and the change log.
type changeHooks struct {
	exclude *mirror.Exclude
	clog    *changelog.Logger
}

// setupChanges wires --exclude/--excludei and the change log into the
// engine's configuration.
func (in *instance) setupChanges(ecfg *mirror.Config) error {
	in.changes = &changeHooks{}
	x, err := mirror.NewExclude(nonEmpty(in.cfg.Exclude), nonEmpty(in.cfg.ExcludeI))
	if err != nil {
		return withCode(exitcode.Usage, err)
	}
	ecfg.Exclude, in.changes.exclude = x, x
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
	ecfg.OnShipped = l.Shipped
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
