package mirror

import (
	"context"
	"fmt"
	"time"
)

// fullState tracks whole-tree reconciling rsyncs: the initial one, the one
// after an unclean stop, those asked for (sync --full) and the scheduled
// ones (--reconcile-interval). Requests are generations: a request is met
// by a full sync that started after it.
type fullState struct {
	reqGen, doneGen uint64
	startGen        uint64     // the generation the running (or last) full sync meets
	recovery        uint64     // generation asked for by an unclean start; barriers wait for it
	links           []linkNeed // link repairs asked for (hardlink.go)
	linkRepairs     uint64
	linkRetries     int
	running         bool
	count           uint64
	lastDone        time.Time
	lastErr         string
	nextAt          time.Time // next scheduled one
}

// ReconcileStatus reports full reconciling syncs after the initial one.
type ReconcileStatus struct {
	Running   bool       `json:"running"`
	Pending   bool       `json:"pending"` // asked for, not started yet
	Count     uint64     `json:"count"`   // full syncs finished, the initial one included
	LastDone  *time.Time `json:"last_done,omitempty"`
	LastError string     `json:"last_error,omitempty"`
	Interval  string     `json:"interval,omitempty"`
	Next      *time.Time `json:"next,omitempty"`
	// LinkRepair says why a full sync is pending or running to relink a
	// hard-link group that may be split on the destination.
	LinkRepair  string `json:"link_repair,omitempty"`
	LinkRepairs uint64 `json:"link_repairs"` // such full syncs asked for
}

// StateReconcile is the state while a full sync other than the initial one runs.
const StateReconcile = "reconciling"

// fullDue reports whether a full sync should start now; e.mu is held.
func (e *Engine) fullDue(now time.Time) bool {
	if e.replayPending() {
		return false
	}
	if e.cfg.InitialSync && !e.initial.Done {
		return true
	}
	if e.cfg.ReconcileInterval > 0 && !e.full.nextAt.IsZero() && !now.Before(e.full.nextAt) && e.full.reqGen == e.full.doneGen {
		e.full.reqGen++
	}
	return e.full.reqGen > e.full.doneGen
}

// fullBlocks reports whether barriers must wait for a full sync: the
// initial one, or the one repairing an unclean stop. e.mu is held.
func (e *Engine) fullBlocks() bool {
	if e.cfg.InitialSync && !e.initial.Done {
		return true
	}
	return e.full.recovery > e.full.doneGen
}

// fullSync runs one reconciling rsync of the whole tree.
func (e *Engine) fullSync(ctx context.Context) {
	e.mu.Lock()
	gen := e.full.reqGen
	lim := e.seq
	initial := e.cfg.InitialSync && !e.initial.Done
	e.q.fullSync = true
	e.full.running = true
	e.full.startGen = gen
	why := e.linkReason(gen)
	if initial {
		e.initial.Running = true
		e.state = StateInitialSync
	} else {
		e.state = StateReconcile
	}
	if e.full.recovery > e.full.doneGen {
		e.recovery.Reconcile = "running"
	}
	e.broadcast()
	e.mu.Unlock()
	what := "reconcile"
	if initial {
		what = "initial sync"
	}
	if why != "" {
		e.log.Info(what+" started", "source", e.cfg.SourceName, "dest", e.cfg.Dest.String(), "reason", why)
	} else {
		e.log.Info(what+" started", "source", e.cfg.SourceName, "dest", e.cfg.Dest.String())
	}

	r := execRsync(ctx, &e.cfg, rsyncArgs(&e.cfg, modeFull), nil, e.cfg.stallAfter(modeFull))
	rerr := e.resultError(r)

	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.broadcast()
	e.q.fullSync = false
	e.full.running = false
	e.initial.Running = false
	e.totals.BytesSent += r.bytesSent
	if rerr != nil && rerr.Class == ClassPartial {
		probs, _ := pathProblems(r.stderr, sourceArg, e.cfg.Dest)
		for _, p := range probs {
			if p.overflow {
				e.noteLong(p.candidates[0])
			}
		}
		e.logLong()
	}
	switch {
	case rerr == nil || rerr.Class == ClassPartial:
		e.initial.Done = true
		e.succeeded()
		now := e.now()
		e.full.doneGen = max(e.full.doneGen, gen)
		e.pruneLinks(rerr != nil)
		e.full.count++
		e.full.lastDone = now
		if e.cfg.ReconcileInterval > 0 {
			e.full.nextAt = now.Add(e.cfg.ReconcileInterval)
		}
		if e.full.recovery != 0 && e.full.recovery <= e.full.doneGen {
			e.recovery.Reconcile = "done"
		}
		msg := ""
		if rerr != nil && r.code == 23 {
			msg = rerr.Msg
			e.log.Warn(what+" finished, but some paths were not transferred", "error", rerr.Msg, "detail", rerr.Detail)
		} else {
			if rerr == nil {
				e.j.full(lim)
			}
			e.log.Info(what+" done", "dest", e.cfg.Dest.String(), "bytes_sent", r.bytesSent)
		}
		e.full.lastErr = msg
		if initial {
			e.initial.Error = msg
		}
	case rerr.Class == ClassCancelled:
	default:
		e.full.lastErr = rerr.Msg
		if initial {
			e.initial.Error = rerr.Msg
		}
		e.failed(rerr)
	}
}

// Reconcile runs a full reconciling rsync of the whole tree (for changes
// that bypassed the mount) and returns once one that started after the
// call has finished.
func (e *Engine) Reconcile(ctx context.Context) error {
	e.mu.Lock()
	e.full.reqGen++
	gen := e.full.reqGen
	e.nextRetry = time.Time{}
	e.mu.Unlock()
	e.poke()
	met := func() bool { return e.full.doneGen >= gen }
	for {
		e.mu.Lock()
		ok := met()
		lastErr := e.full.lastErr
		ch := e.changed
		e.mu.Unlock()
		if ok {
			if lastErr != "" {
				return fmt.Errorf("full sync finished, but some paths were not transferred: %s", lastErr)
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("full sync to %s not finished when the request ended: %w", e.cfg.Dest, ctx.Err())
		}
		e.driveOrWait(ctx, ch, met)
	}
}

func (e *Engine) reconcileStatus() ReconcileStatus {
	s := ReconcileStatus{
		Running:   e.full.running,
		Pending:   e.full.reqGen > e.full.doneGen && !e.full.running,
		Count:     e.full.count,
		LastDone:  tptr(e.full.lastDone),
		LastError: e.full.lastErr,
		Next:      tptr(e.full.nextAt),

		LinkRepair:  e.linkReason(e.full.reqGen),
		LinkRepairs: e.full.linkRepairs,
	}
	if e.cfg.ReconcileInterval > 0 {
		s.Interval = e.cfg.ReconcileInterval.String()
	}
	return s
}
