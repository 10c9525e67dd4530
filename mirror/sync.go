package mirror

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SyncResult describes a completed barrier.
type SyncResult struct {
	Seq     uint64        // the last event the barrier covered
	Waited  time.Duration // how long it took
	Stuck   []StuckPath   // paths up to Seq that are not on the destination
	Pending int           // entries still queued (newer changes, or stuck)
}

// FlushReport is what a shutdown flush could not ship.
type FlushReport struct {
	Pending  int         `json:"pending"`
	InFlight int         `json:"in_flight"`
	Paths    []string    `json:"paths,omitempty"` // up to 100 of them
	Stuck    []StuckPath `json:"stuck,omitempty"`
	Owed     []OwedSync  `json:"owed,omitempty"` // full syncs still owed (journaled for the next start)
}

// StuckError is returned by Sync and Flush when some changes cannot reach
// the destination by waiting.
type StuckError struct{ Stuck []StuckPath }

func (s *StuckError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d path(s) are not on the destination and retrying does not help: ", len(s.Stuck))
	for i, p := range s.Stuck {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more (see mirrorfs status)", len(s.Stuck)-5)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%q: %s", truncate(p.Path, 200), p.Error)
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Sync returns once every change added before the call is on the
// destination, shipping without waiting for the quiet period. Paths that
// fail on their own (or are too long) end it with a *StuckError; an
// unreachable destination makes it wait, retrying, until ctx is done.
func (e *Engine) Sync(ctx context.Context) (SyncResult, error) {
	start := time.Now()
	e.mu.Lock()
	limit := e.seq
	e.epoch++
	epoch := e.epoch
	e.waiters++
	e.urgentSeq = max(e.urgentSeq, limit)
	e.health.nextRetry = time.Time{} // someone is waiting: try the destination now
	e.mu.Unlock()
	e.poke()
	defer func() {
		e.mu.Lock()
		e.waiters--
		e.mu.Unlock()
	}()

	met := func() bool { ok, _ := e.barrierLocked(limit, epoch); return ok }
	for {
		e.mu.Lock()
		ok, stuck := e.barrierLocked(limit, epoch)
		ch := e.changed
		pending := e.q.pending()
		e.mu.Unlock()
		if ok {
			res := SyncResult{Seq: limit, Waited: time.Since(start), Stuck: stuck, Pending: pending}
			if len(stuck) > 0 {
				return res, &StuckError{Stuck: stuck}
			}
			e.flushEvents(Event{Kind: EventBarrier, Seq: limit})
			return res, nil
		}
		if ctx.Err() != nil {
			return SyncResult{Seq: limit, Waited: time.Since(start), Pending: pending},
				fmt.Errorf("sync interrupted before all changes reached %s: %w", e.cfg.Dest, ctx.Err())
		}
		e.driveOrWait(ctx, ch, met)
	}
}

// barrierLocked reports whether all events up to limit are settled, and
// the stuck paths among them. An entry counts as stuck only after it
// failed in a batch started after this barrier began. Unless Flush ships
// the queue alone, owed full syncs that stand for changes up to limit
// must be paid first.
func (e *Engine) barrierLocked(limit, epoch uint64) (bool, []StuckPath) {
	if (!e.flushing || e.payBlocking) && e.debts.blocksBarrier(limit) {
		return false, nil
	}
	if len(e.splits) > 0 || e.rootRun {
		return false, nil
	}
	blocked, entries := e.q.blocking(limit, func(c *entry) bool { return c.attempts > 0 && c.fail.epoch >= epoch })
	if blocked {
		return false, nil
	}
	var stuck []StuckPath
	for _, c := range entries {
		stuck = append(stuck, stuckOfEntry(c))
	}
	e.q.eachLong(func(l *longPath) {
		if l.seq <= limit {
			stuck = append(stuck, stuckOfLong(l))
		}
	})
	sortStuck(stuck)
	return true, stuck
}

// Flush ships everything queued, for shutdown. A running full sync is
// stopped first, so that it cannot hold the queue hostage; the queue
// ships; then, time allowing, the full syncs owed for changes nothing
// else ships (overflow, the initial sync, an unclean start) run. What is
// still owed when ctx ends stays in the journal for the next start and
// is listed in the report. When ctx ends first it reports what is left.
func (e *Engine) Flush(ctx context.Context) (FlushReport, error) {
	stop := context.AfterFunc(ctx, func() { e.cancelFull() })
	defer stop()
	e.mu.Lock()
	e.flushing = true // from now on, only Flush starts full syncs
	e.payBlocking = false
	e.mu.Unlock()
	e.cancelFull()
	_, err := e.Sync(ctx)
	e.mu.Lock()
	blocked := e.debts.blocksBarrier(e.seq)
	e.payBlocking = blocked
	e.mu.Unlock()
	if err == nil && blocked {
		e.poke()
		_, err = e.Sync(ctx)
	}
	e.mu.Lock()
	e.payBlocking = false
	e.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	rep := FlushReport{Pending: e.q.pending(), InFlight: e.q.inFlight(), Owed: e.debts.status()}
	e.q.each(func(c *entry) bool {
		rep.Paths = append(rep.Paths, c.path)
		return len(rep.Paths) < maxStuckListed
	})
	rep.Stuck = e.stuckListLocked()
	if err != nil {
		var se *StuckError
		if rep.Pending+rep.InFlight == 0 && !errors.As(err, &se) {
			kept := "it is kept in the journal and the next start runs it"
			if e.j == nil {
				kept = "without a journal (state-dir none) only the next mount's initial sync runs it"
			}
			return rep, fmt.Errorf("flush: the queue is on %s, but a full sync it owes (%s) did not finish; %s: %w", e.cfg.Dest, owedReasons(rep.Owed), kept, err)
		}
		return rep, fmt.Errorf("flush: %d change(s) not on the destination %s: %w", rep.Pending+rep.InFlight+e.q.longCount(), e.cfg.Dest, err)
	}
	return rep, nil
}

// cancelFull stops a running full sync; it stays owed.
func (e *Engine) cancelFull() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.full.cancel != nil {
		e.full.cancel()
	}
}

func owedReasons(o []OwedSync) string {
	var b strings.Builder
	for i, x := range o {
		if !x.Blocks {
			continue
		}
		if b.Len() > 0 && i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(x.Reason)
	}
	return b.String()
}

// stuckListLocked lists failing and over-long paths.
func (e *Engine) stuckListLocked() []StuckPath {
	var out []StuckPath
	e.q.failing(func(c *entry) { out = append(out, stuckOfEntry(c)) })
	e.q.eachLong(func(l *longPath) { out = append(out, stuckOfLong(l)) })
	sortStuck(out)
	return out
}

// Status is a snapshot for the control socket. It never holds a password.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	h := &e.health
	s := Status{
		State:               e.state,
		Source:              e.cfg.SourceName,
		Dest:                e.cfg.Dest.String(),
		Transport:           e.cfg.transportStatus(),
		Pending:             e.q.pending(),
		MaxPending:          e.cfg.MaxPending,
		OverflowFullSync:    e.debts.has(ReasonOverflow),
		InFlight:            e.q.inFlight(),
		LastSuccess:         tptr(h.lastSuccess),
		LastErrorTime:       tptr(h.lastErrTime),
		ConsecutiveFailures: h.failures,
		NextRetry:           tptr(h.nextRetry),
		Totals:              e.totals,
		InitialSync:         e.initial,
		Reconcile:           e.reconcileStatusLocked(),
		Recovery:            e.recovery,
		Journal:             e.j.status(),
		LinkedNames:         e.links.len(),
		LinkIndexReady:      e.walk.done,
		Name:                e.cfg.DestName(),
		Held:                e.heldStatusLocked(),
		Verify:              e.verifyStatusLocked(),
		Shipping:            e.runProg.snapshot(),
	}
	if e.full.initial {
		s.InitialSync.Progress = e.full.progress.snapshot()
	}
	if e.recovery.Start == StartUnclean {
		switch {
		case slices.ContainsFunc(e.debts.running, func(d debt) bool { return d.reason == ReasonUnclean }):
			s.Recovery.Reconcile = "running"
		case e.debts.has(ReasonUnclean):
			s.Recovery.Reconcile = "waiting"
		default:
			s.Recovery.Reconcile = "done"
		}
	}
	if h.lastErr != nil {
		s.LastError = h.lastErr.Msg
		s.LastErrorClass = h.lastErr.Class.String()
	}
	if oldest, ok := e.q.oldest(); ok {
		s.OldestPending = &oldest
		s.OldestPendingAgeSeconds = now.Sub(oldest).Seconds()
	}
	stuck := e.stuckListLocked()
	s.StuckCount = len(stuck)
	if len(stuck) > maxStuckListed {
		stuck = stuck[:maxStuckListed]
	}
	s.Stuck = stuck
	if s.Stuck == nil {
		s.Stuck = []StuckPath{}
	}
	return s
}

// driveOrWait runs the scheduler here until met when no Run loop drives the
// queue (Sync and Flush work without Run, e.g. after it stopped at
// shutdown); otherwise it waits for the next state change.
func (e *Engine) driveOrWait(ctx context.Context, changed <-chan struct{}, met func() bool) {
	select {
	case e.runner <- struct{}{}:
		stop := e.prepare(ctx)
		e.drive(ctx, met)
		stop()
		e.release()
		return
	default:
	}
	select {
	case <-changed:
	case <-ctx.Done():
	}
}
