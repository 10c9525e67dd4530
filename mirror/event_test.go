package mirror

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (l *eventLog) add(ev Event) {
	l.mu.Lock()
	l.evs = append(l.evs, ev)
	l.mu.Unlock()
}

func (l *eventLog) of(k EventKind) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for _, ev := range l.evs {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

func TestEventsBatchAndBarrier(t *testing.T) {
	dst := t.TempDir()
	d, _ := ParseDestination(dst)
	var log eventLog
	h := newHarness(t, d, dst, true, func(c *Config) { c.OnEvent = log.add; c.Name = "local" })
	h.write("a", "hello")
	h.write("b", "world!")
	res, err := h.sync(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	batches := log.of(EventBatch)
	var paths []string
	var bytes int64
	for _, b := range batches {
		if b.Dest != "local" || b.Batch == 0 || b.Time.IsZero() || b.Count != len(b.Paths) {
			t.Errorf("batch event %+v", b)
		}
		paths = append(paths, b.Paths...)
		bytes += b.Bytes
	}
	if !slices.Contains(paths, "a") || !slices.Contains(paths, "b") || bytes <= 0 {
		t.Errorf("batch events name %q, %d bytes; want a and b, some bytes", paths, bytes)
	}
	bars := log.of(EventBarrier)
	if len(bars) == 0 || bars[len(bars)-1].Seq != res.Seq {
		t.Errorf("barrier events %+v, want the last with seq %d", bars, res.Seq)
	}
	// The barrier comes after every batch that met it.
	log.mu.Lock()
	defer log.mu.Unlock()
	if last := log.evs[len(log.evs)-1]; last.Kind != EventBarrier {
		t.Errorf("events end with %v, want the barrier: %+v", last.Kind, log.evs)
	}
}

func TestEventsErrorWhenRunsFail(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "missing", "deeper")
	d, _ := ParseDestination(dst)
	var log eventLog
	h := newHarness(t, d, dst, true, func(c *Config) { c.OnEvent = log.add })
	h.write("a", "hello")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	go h.eng.Sync(ctx)
	waitFor(t, "an error event", func() bool { return len(log.of(EventError)) > 0 })
	ev := log.of(EventError)[0]
	if ev.Error == "" || ev.Batch == 0 {
		t.Errorf("error event %+v, want its message and batch", ev)
	}
	if len(log.of(EventBarrier)) != 0 {
		t.Error("a barrier event while nothing reached the destination")
	}
}

func TestEventsStuckPath(t *testing.T) {
	dst, src := t.TempDir(), t.TempDir()
	d, _ := ParseDestination(dst)
	real := requireRsync(t)
	// rsync ships everything but blames x, as it does a file it cannot read.
	wrapper := fakeRsync(t, fmt.Sprintf(`%q "$@"; rc=$?
if [ -e %q ]; then echo 'rsync: [sender] send_files failed to open "/proc/self/fd/3/x": Permission denied (13)' >&2; exit 23; fi
exit $rc`, real, filepath.Join(src, "x")))
	var log eventLog
	h := newHarnessAt(t, src, d, dst, true, func(c *Config) { c.OnEvent = log.add; c.RsyncPath = wrapper })
	h.write("x", "unreadable, says rsync")
	h.write("ok", "fine")
	_, err := h.sync(10 * time.Second)
	var se *StuckError
	if !errors.As(err, &se) {
		t.Fatalf("sync: %v, want x stuck", err)
	}
	waitFor(t, "a stuck event", func() bool { return len(log.of(EventStuck)) > 0 })
	ev := log.of(EventStuck)[0]
	if !slices.Contains(ev.Paths, "x") || ev.Error == "" || ev.Count != len(ev.Paths) {
		t.Errorf("stuck event %+v, want path x with its error", ev)
	}
	shipped := false
	for _, b := range log.of(EventBatch) {
		if slices.Contains(b.Paths, "x") {
			t.Errorf("batch event %+v names the failed path", b)
		}
		shipped = shipped || slices.Contains(b.Paths, "ok")
	}
	if !shipped {
		t.Errorf("no batch event names ok: %+v", log.of(EventBatch))
	}
}

func TestEventsBarrierAfterFullSync(t *testing.T) {
	dst := t.TempDir()
	d, _ := ParseDestination(dst)
	var log eventLog
	h := newHarness(t, d, dst, true, func(c *Config) { c.OnEvent = log.add })
	h.write("a", "x")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.eng.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if len(log.of(EventBarrier)) == 0 {
		t.Error("no barrier event after a requested full sync")
	}
}
