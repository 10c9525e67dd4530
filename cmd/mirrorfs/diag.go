package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/audit"
	"github.com/mirrorfs/mirrorfs/internal/change"
	"github.com/mirrorfs/mirrorfs/internal/doctor"
	"github.com/mirrorfs/mirrorfs/internal/stats"
)

// diagnostics are a mount's views beside the mirror itself: per-event
// statistics, the optional inotify audit and the processes found bypassing
// the mount when it started.
type diagnostics struct {
	stats  *stats.Counter
	audit  *audit.Auditor // nil unless --inotify-audit
	bypass []doctor.Holder
}

// setupDiagnostics runs before the mount: it lists the processes that hold
// files under the backing directory, and prepares statistics and audit.
func (in *instance) setupDiagnostics(source string) {
	in.diag = &diagnostics{stats: stats.New(stats.DefaultSlots)}
	in.diag.bypass = warnBypass(source, in.backing, in.log)
	if in.cfg.InotifyAudit {
		in.diag.audit = audit.New(audit.Options{
			Root:          in.cfg.Mountpoint,
			WriteInterval: in.cfg.MaxDelay,
			Logger:        in.log,
		})
	}
}

// reporter is what the FUSE layer reports to: every destination's
// engine, plus statistics and the audit.
func (in *instance) reporter() change.Reporter {
	var tee teeReporter
	for _, d := range in.dests {
		tee = append(tee, reportFunc(d.engine.Add))
	}
	tee = append(tee, in.diag.stats)
	if in.diag.audit != nil {
		tee = append(tee, in.diag.audit)
	}
	return tee
}

// startAudit begins the inotify audit once the mount is usable. A failure
// leaves the mount running without it.
func (in *instance) startAudit() {
	if in.diag == nil || in.diag.audit == nil {
		return
	}
	if err := in.diag.audit.Start(context.Background()); err != nil {
		in.log.Warn("inotify audit disabled", "err", err)
	}
}

// stopAudit ends the audit; it must run before the unmount.
func (in *instance) stopAudit() {
	if in.diag != nil && in.diag.audit != nil {
		in.diag.audit.Stop()
	}
}

func (in *instance) auditStatus() *audit.Status {
	if in.diag == nil || in.diag.audit == nil {
		return nil
	}
	st := in.diag.audit.Status()
	return &st
}

// warnBypass logs one line per process that holds files under the
// directory about to be mounted over (or served): what it writes through
// those handles never passes through the mount.
func warnBypass(source string, backing *os.File, log *slog.Logger) []doctor.Holder {
	var st unix.Stat_t
	var keep func(uint64) bool
	if unix.Fstat(int(backing.Fd()), &st) == nil {
		dev := st.Dev
		keep = func(d uint64) bool { return d == dev }
	}
	hs := doctor.Bypassers(source, keep, os.Getpid())
	for _, h := range hs {
		log.Warn("a process holds files under the mirrored directory from before the mount: "+doctor.BypassAdvice,
			"pid", h.PID, "comm", h.Comm, "holds", strings.Join(h.Hold, ", "))
	}
	return hs
}

// bypassCheck lists, for `mirrorfs check MOUNTPOINT`, the processes that
// still hold files under the served directory other than through the mount.
func bypassCheck(mp string, served *statusView) doctor.Check {
	var st unix.Stat_t
	if err := unix.Stat(mp, &st); err != nil {
		return doctor.Check{Check: "bypass", Result: doctor.Skip, Detail: "cannot stat the mount: " + err.Error()}
	}
	source := served.Source
	if source == "" {
		source = mp
	}
	return doctor.Bypass(mp, source, st.Dev, served.PID)
}

// printDiag adds the audit and the bypass list to `mirrorfs status`.
func printDiag(w io.Writer, st statusView) {
	if a := st.Audit; a != nil {
		state := "watching"
		if !a.Ready {
			state = "adding watches"
		}
		fmt.Fprintf(w, "  inotify audit\t%s, %d watches: %d inotify / %d FUSE events, %d missed by FUSE, %d missed by inotify\n",
			state, a.Watches, a.InotifyEvents, a.FuseEvents, a.MissedByFuse, a.MissedByInotify)
		if m := a.LastMismatch; m != nil {
			fmt.Fprintf(w, "  last mismatch\t%s seen by %s only (%s) at %s\n", m.Path, m.SeenBy, m.Events, m.Time.Format(time.DateTime))
		}
		if a.Error != "" {
			fmt.Fprintf(w, "  audit error\t%s\n", a.Error)
		}
	}
	for _, h := range st.Bypass {
		fmt.Fprintf(w, "  bypass at mount\t%s\n", h)
	}
}
