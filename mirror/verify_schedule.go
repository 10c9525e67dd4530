package mirror

import (
	"context"
	"time"
)

// startVerifyLoop runs Verify every Config.VerifyInterval, beside the
// scheduler (a verify never holds up shipping), until ctx ends; stop ends
// it and waits for it.
func (e *Engine) startVerifyLoop(ctx context.Context) (stop func()) {
	every := e.cfg.VerifyInterval
	if every <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			e.setVerifyNext(e.now().Add(every))
			t := time.NewTimer(every)
			select {
			case <-ctx.Done():
				t.Stop()
				e.setVerifyNext(time.Time{})
				return
			case <-t.C:
			}
			e.setVerifyNext(time.Time{})
			e.Verify(ctx) // the result goes to status and the log
		}
	}()
	return func() { cancel(); <-done }
}

func (e *Engine) setVerifyNext(t time.Time) {
	e.mu.Lock()
	e.vf.next = t
	e.mu.Unlock()
}
