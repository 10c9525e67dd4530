package mirror

import (
	"context"
	"fmt"
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
	e.nextRetry = time.Time{} // someone is waiting: try the destination now
	e.mu.Unlock()
	e.poke()
	defer func() {
		e.mu.Lock()
		e.waiters--
		e.mu.Unlock()
	}()

	met := func() bool { ok, _ := e.barrier(limit, epoch); return ok }
	for {
		e.mu.Lock()
		ok, stuck := e.barrier(limit, epoch)
		ch := e.changed
		pending := e.q.pending()
		e.mu.Unlock()
		if ok {
			res := SyncResult{Seq: limit, Waited: time.Since(start), Stuck: stuck, Pending: pending}
			if len(stuck) > 0 {
				return res, &StuckError{Stuck: stuck}
			}
			return res, nil
		}
		if ctx.Err() != nil {
			return SyncResult{Seq: limit, Waited: time.Since(start), Pending: pending},
				fmt.Errorf("sync interrupted before all changes reached %s: %w", e.cfg.Dest, ctx.Err())
		}
		e.driveOrWait(ctx, ch, met)
	}
}

// barrier reports whether all events up to limit are settled, and the
// stuck paths among them; e.mu is held. An entry counts as stuck only after
// it failed in a batch started after this barrier began.
func (e *Engine) barrier(limit, epoch uint64) (bool, []StuckPath) {
	if e.fullBlocks() {
		return false, nil
	}
	if len(e.splits) > 0 || e.rootRun || e.linkBlocks(limit) || e.overflowBlocks(limit) {
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
	for _, l := range e.q.long {
		if l.seq <= limit {
			stuck = append(stuck, stuckOfLong(l))
		}
	}
	sortStuck(stuck)
	return true, stuck
}

// Flush ships everything queued, for shutdown. When ctx ends first it
// reports what is left.
func (e *Engine) Flush(ctx context.Context) (FlushReport, error) {
	_, err := e.Sync(ctx)
	e.mu.Lock()
	defer e.mu.Unlock()
	rep := FlushReport{Pending: e.q.pending(), InFlight: len(e.q.flight)}
	e.q.tree.Ascend(func(c *entry) bool {
		if len(rep.Paths) >= maxStuckListed {
			return false
		}
		rep.Paths = append(rep.Paths, c.path)
		return true
	})
	for p := range e.q.flight {
		if len(rep.Paths) >= maxStuckListed {
			break
		}
		rep.Paths = append(rep.Paths, p)
	}
	rep.Stuck = e.stuckList()
	if err != nil {
		return rep, fmt.Errorf("flush: %d change(s) not on the destination %s: %w", rep.Pending+rep.InFlight+len(e.q.long), e.cfg.Dest, err)
	}
	return rep, nil
}

// stuckList lists failing and over-long paths; e.mu is held.
func (e *Engine) stuckList() []StuckPath {
	var out []StuckPath
	for c := e.q.backoff.head; c != nil; c = c.links[lByLast].next {
		if c.attempts > 0 {
			out = append(out, stuckOfEntry(c))
		}
	}
	for _, c := range e.q.flight {
		if c.attempts > 0 {
			out = append(out, stuckOfEntry(c))
		}
	}
	for _, l := range e.q.long {
		out = append(out, stuckOfLong(l))
	}
	sortStuck(out)
	return out
}

// Status is a snapshot for the control socket. It never holds a password.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	s := Status{
		State:               e.state,
		Source:              e.cfg.SourceName,
		Dest:                e.cfg.Dest.String(),
		Pending:             e.q.pending(),
		MaxPending:          e.cfg.MaxPending,
		OverflowFullSync:    e.overOwed(),
		InFlight:            len(e.q.flight),
		LastSuccess:         tptr(e.lastSuccess),
		LastErrorTime:       tptr(e.lastErrTime),
		ConsecutiveFailures: e.failures,
		NextRetry:           tptr(e.nextRetry),
		Totals:              e.totals,
		InitialSync:         e.initial,
		Reconcile:           e.reconcileStatus(),
		Recovery:            e.recovery,
		Journal:             e.j.status(),
	}
	if e.lastErr != nil {
		s.LastError = e.lastErr.Msg
		s.LastErrorClass = e.lastErr.Class.String()
	}
	var oldest time.Time
	older := func(t time.Time) {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if h := e.q.byFirst.head; h != nil {
		older(h.first)
	}
	for c := e.q.backoff.head; c != nil; c = c.links[lByLast].next {
		older(c.first)
	}
	for _, c := range e.q.flight {
		older(c.first)
	}
	if !oldest.IsZero() {
		s.OldestPending = &oldest
		s.OldestPendingAgeSeconds = now.Sub(oldest).Seconds()
	}
	stuck := e.stuckList()
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
		e.detectVersion(ctx)
		e.drive(ctx, met)
		e.release()
		return
	default:
	}
	select {
	case <-changed:
	case <-ctx.Done():
	}
}
