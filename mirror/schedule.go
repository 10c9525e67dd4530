package mirror

import (
	"context"
	"time"
)

// drive is the scheduler: it decides what ships when, and returns when ctx
// ends or until() holds. What it starts runs on this goroutine, one rsync
// at a time.
func (e *Engine) drive(ctx context.Context, until func() bool) {
	for ctx.Err() == nil {
		e.mu.Lock()
		e.logLongLocked()
		if until != nil && until() {
			e.mu.Unlock()
			return
		}
		now := e.now()
		var wait time.Duration = -1
		switch {
		case e.fullDueLocked(now):
			if now.Before(e.health.nextRetry) {
				wait = e.health.nextRetry.Sub(now)
				break
			}
			e.mu.Unlock()
			e.fullSync(ctx)
			e.mu.Lock()
			e.maybePruneLocked(ctx)
			e.mu.Unlock()
			continue
		case len(e.splits) > 0:
			b := e.splits[0]
			e.splits = e.splits[1:]
			e.mu.Unlock()
			e.ship(ctx, b)
			continue
		case now.Before(e.health.nextRetry):
			wait = e.health.nextRetry.Sub(now)
		default:
			p := e.pickLocked()
			if items := e.q.take(now, p); len(items) > 0 {
				b := &batch{all: items, epoch: e.epoch, seq: e.seq}
				b.runs = planBatch(items)
				e.mu.Unlock()
				e.ship(ctx, b)
				e.mu.Lock()
				e.maybePruneLocked(ctx)
				e.mu.Unlock()
				continue
			}
			if t, ok := e.q.nextReady(p); ok {
				wait = max(t.Sub(now), time.Millisecond)
			}
			if t := e.full.nextAt; !t.IsZero() && (wait < 0 || t.Sub(now) < wait) {
				wait = max(t.Sub(now), time.Millisecond)
			}
		}
		if e.state != StateRetrying {
			e.state = StateIdle
		}
		e.mu.Unlock()
		e.sleep(ctx, wait)
	}
}

func (e *Engine) pickLocked() pick {
	return pick{
		delay: e.cfg.Delay, maxDelay: e.cfg.MaxDelay, max: e.cfg.MaxBatch,
		urgent: e.waiters > 0, urgentSeq: e.urgentSeq, epoch: e.epoch,
	}
}

func (e *Engine) sleep(ctx context.Context, d time.Duration) {
	var tc <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-ctx.Done():
	case <-e.wake:
	case <-tc:
	}
}
