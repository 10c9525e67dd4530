package rsyncproc

import (
	"context"
	"time"
)

// verdict is why the watchdog wants a run killed.
type verdict struct {
	stalled time.Duration
	blocked *Blocked
}

// blockTick is how often the tree is checked for a stuck path call.
const blockTick = 250 * time.Millisecond

// watch polls the tree rooted at pid until ctx ends (zero verdict) or it
// finds a reason to kill it.
func watch(ctx context.Context, pid int, stall, grace time.Duration) verdict {
	tick := blockTick
	if stall > 0 {
		tick = min(tick, max(stall/8, 50*time.Millisecond))
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	prog := newProgress(time.Now())
	bw := newBlockWatch(grace)
	for {
		select {
		case <-ctx.Done():
			return verdict{}
		case now := <-t.C:
			pids := tree(pid)
			for _, p := range pids {
				if b := bw.check(p, now); b != nil {
					return verdict{blocked: b}
				}
			}
			if stall > 0 && prog.sample(pids, now) >= stall {
				return verdict{stalled: stall}
			}
		}
	}
}
