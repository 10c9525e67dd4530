package mirror

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// fullState is what status reports of whole-tree syncs; what is owed is
// in the debts ledger (debt.go).
type fullState struct {
	count    uint64 // full syncs finished, the initial one included
	lastDone time.Time
	lastErr  string
	nextAt   time.Time          // next scheduled one (reconcile-interval)
	cancel   context.CancelFunc // stops the running one (Flush)
	progress *fullTracker       // the running one's progress (progress.go)
	initial  bool               // the running one is the initial sync
}

// ReconcileStatus reports whole-tree syncs.
type ReconcileStatus struct {
	Running   bool       `json:"running"`
	Pending   bool       `json:"pending"` // owed, not started yet
	Count     uint64     `json:"count"`   // full syncs finished, the initial one included
	LastDone  *time.Time `json:"last_done,omitempty"`
	LastError string     `json:"last_error,omitempty"`
	Interval  string     `json:"interval,omitempty"`
	Next      *time.Time `json:"next,omitempty"`
	// Owed lists the full syncs owed or running, with their reasons.
	Owed []OwedSync `json:"owed"`
	// Progress of the running full sync other than the initial one.
	Progress *FullProgress `json:"progress,omitempty"`
}

// StateReconcile is the state while a full sync other than the initial one runs.
const StateReconcile = "reconciling"

// oweLocked opens or joins a debt of reason why for changes from minSeq
// on; a new one is journaled, and reported true.
func (e *Engine) oweLocked(why Reason, minSeq uint64) bool {
	e.seq++ // the full sync that pays it starts after this
	if !e.debts.owe(why, minSeq, e.seq, e.now()) {
		return false
	}
	e.j.owe(why, e.seq)
	e.poke()
	return true
}

// fullDueLocked reports whether a full sync should start now.
func (e *Engine) fullDueLocked(now time.Time) bool {
	if e.replayPendingLocked() {
		return false
	}
	if e.flushing {
		return e.payBlocking && e.debts.running == nil && slices.ContainsFunc(e.debts.owed, func(d debt) bool { return d.reason.blocks() })
	}
	if e.cfg.ReconcileInterval > 0 && !e.full.nextAt.IsZero() && !now.Before(e.full.nextAt) && !e.debts.has(ReasonInterval) {
		e.oweLocked(ReasonInterval, e.seq+1)
	}
	return e.debts.due()
}

// fullSync runs one reconciling rsync of the whole tree, paying every debt
// owed when it starts.
func (e *Engine) fullSync(ctx context.Context) {
	e.mu.Lock()
	e.seq++
	start := e.seq
	paying := e.debts.start(start)
	var reasons []string
	initial := false
	for _, d := range paying {
		reasons = append(reasons, d.reason.String())
		initial = initial || d.reason == ReasonInitial
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.full.cancel = cancel
	e.full.progress, e.full.initial = newFullTracker(e.now()), initial
	prog := &lineSink{claim: e.full.progress.line}
	e.q.fullSync = true
	if initial {
		e.initial.Running = true
		e.state = StateInitialSync
	} else {
		e.state = StateReconcile
	}
	stamp := e.stampLocked(0)
	e.broadcastLocked()
	e.mu.Unlock()
	what := "reconcile"
	if initial {
		what = "initial sync"
	}
	e.log.Info(what+" started", "source", e.cfg.SourceName, "dest", e.cfg.Dest.String(), "reason", strings.Join(reasons, ","))

	r := execRsyncOut(runCtx, &e.cfg, e.argsFor(modeFull, stamp), nil, e.cfg.stallAfter(modeFull), nil, prog)
	rerr := e.resultError(r)

	defer e.flushEvents() // runs after the unlock below
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.queueStuckLocked(0)
	defer e.broadcastLocked()
	e.full.cancel = nil
	e.full.progress = nil
	e.q.fullSync = false
	e.initial.Running = false
	e.totals.BytesSent += r.bytesSent
	switch {
	case r.blocked != "":
		// Killed before it finished: it stays owed, and runs again with
		// the path it hung on retried on its own.
		e.debts.finish(false)
		e.failPathLocked(r.blocked, blockedMsg)
		e.log.Warn(what+" hung opening a path that changed type under it; that path is retried on its own, the "+what+" runs again",
			"path", r.blocked)
	case rerr == nil || rerr.Class == ClassPartial:
		e.debts.finish(true)
		e.succeededLocked()
		if initial {
			e.initial.Done = true
		}
		now := e.now()
		e.full.count++
		e.full.lastDone = now
		if e.cfg.ReconcileInterval > 0 {
			e.full.nextAt = now.Add(e.cfg.ReconcileInterval)
		}
		msg := ""
		if rerr == nil {
			e.j.full(start)
			e.log.Info(what+" done", "dest", e.cfg.Dest.String(), "bytes_sent", r.bytesSent)
		} else {
			// Failures of single paths become entries of their own: they
			// are retried as any change is, and no other whole-tree run
			// starts for them.
			n, whole := e.requeueFullFailuresLocked(r)
			if !whole {
				e.j.full(start)
			}
			msg = rerr.Msg
			e.log.Warn(what+" finished, but some paths were not transferred: they are retried on their own",
				"paths", n, "error", rerr.Msg, "detail", rerr.Detail)
		}
		e.full.lastErr = msg
		if initial {
			e.initial.Error = msg
		}
	case rerr.Class == ClassCancelled:
		e.debts.finish(false)
		e.log.Info(what+" stopped before it finished; it stays owed", "reason", strings.Join(reasons, ","))
	default:
		e.debts.finish(false)
		e.full.lastErr = rerr.Msg
		if initial {
			e.initial.Error = rerr.Msg
		}
		e.failedLocked(rerr)
		e.queueEventLocked(Event{Kind: EventError, Error: rerr.Msg})
	}
}

// requeueFullFailuresLocked queues, as ordinary entries, the paths a full
// sync named as failed, and reports how many. whole is true when some
// failure named no path: then only another full sync can be sure to
// cover it, and the journal is not told the tree is equal.
func (e *Engine) requeueFullFailuresLocked(r result) (n int, whole bool) {
	probs, other := pathProblems(r.stderr, sourceArg, e.cfg.Dest)
	seen := make(map[string]bool)
	fail := func(p, msg string) {
		if !seen[p] && p != "" {
			seen[p] = true
			e.failPathLocked(p, msg)
			n++
		}
	}
	for _, p := range probs {
		switch {
		case p.overflow:
			e.noteLongLocked(p.candidates[0])
		case p.vanished:
			// Deleted under rsync: its deletion is (or will be) queued.
		default:
			fail(bestCandidate(e, p.candidates), afterRsyncPrefix(p.line))
		}
	}
	e.logLongLocked()
	return n, len(other) > 0 && n == 0
}

// failPathLocked queues p as an ordinary entry that failed on its own
// with msg: it is retried with per-path backoff, like any change.
func (e *Engine) failPathLocked(p, msg string) {
	now := e.now()
	e.seq++
	e.j.add(e.seq, e.q.add(change.Change{Op: change.OpSetattr, Path: p}, e.seq, now))
	if en := e.q.get(p); en != nil && en.place == placeReady {
		if en.attempts == 0 {
			e.noteStuckLocked(p, msg)
		}
		e.q.toFlight(en)
		e.q.requeue(en, &failure{msg: msg, now: now, epoch: e.epoch, retryAt: now.Add(e.cfg.backoff(en.attempts + 1))})
		e.j.fail(p, en.attempts, msg)
	}
}

// bestCandidate picks, of the paths an rsync line may name, one that
// exists in the source, else the longest.
func bestCandidate(e *Engine, cands []string) string {
	for _, c := range cands {
		if e.exists(c) {
			return c
		}
	}
	if len(cands) > 0 {
		return cands[0]
	}
	return ""
}

// Reconcile runs a full reconciling rsync of the whole tree (for changes
// that bypassed the mount) and returns once one that started after the
// call has finished.
func (e *Engine) Reconcile(ctx context.Context) error {
	e.mu.Lock()
	e.oweLocked(ReasonRequested, e.seq+1)
	asked := e.seq
	e.health.nextRetry = time.Time{}
	e.mu.Unlock()
	e.poke()
	met := func() bool { return e.debts.paidSeq >= asked }
	for {
		e.mu.Lock()
		ok := met()
		lastErr := e.full.lastErr
		ch := e.changed
		e.mu.Unlock()
		if ok {
			if lastErr != "" {
				return fmt.Errorf("full sync finished, but some paths were not transferred (they are retried on their own): %s", lastErr)
			}
			e.flushEvents(Event{Kind: EventBarrier, Seq: asked})
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("full sync to %s not finished when the request ended: %w", e.cfg.Dest, ctx.Err())
		}
		e.driveOrWait(ctx, ch, met)
	}
}

func (e *Engine) reconcileStatusLocked() ReconcileStatus {
	s := ReconcileStatus{
		Running:   e.debts.running != nil,
		Pending:   len(e.debts.owed) > 0,
		Count:     e.full.count,
		LastDone:  tptr(e.full.lastDone),
		LastError: e.full.lastErr,
		Next:      tptr(e.full.nextAt),
		Owed:      e.debts.status(),
	}
	if !e.full.initial {
		s.Progress = e.full.progress.snapshot()
	}
	if e.cfg.ReconcileInterval > 0 {
		s.Interval = e.cfg.ReconcileInterval.String()
	}
	return s
}
