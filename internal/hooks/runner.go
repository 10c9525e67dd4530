package hooks

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/mirrorfs/mirrorfs/mirror"
)

// Kinds are the events a hook can be set for, in option order.
var Kinds = []mirror.EventKind{mirror.EventBatch, mirror.EventError, mirror.EventStuck, mirror.EventHold, mirror.EventBarrier}

// DefaultQueue is how many events of one kind wait at most.
const DefaultQueue = 16

// Config says which command runs for which event.
type Config struct {
	Commands   map[mirror.EventKind]string // shell command lines; empty: no hook
	Timeout    time.Duration               // a hook running longer is killed
	Mountpoint string                      // MIRRORFS_MOUNTPOINT
	Queue      int                         // per kind; 0: DefaultQueue
	Log        *slog.Logger
}

// Enabled reports whether any hook is set.
func (c Config) Enabled() bool {
	for _, cmd := range c.Commands {
		if cmd != "" {
			return true
		}
	}
	return false
}

type queued struct {
	ev  mirror.Event
	seq uint64 // arrival order across kinds
}

type kindQueue struct {
	events  []queued
	dropped int // since the last hook of this kind ran
}

// Runner queues events and runs their hooks on one worker.
type Runner struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}
	done chan struct{}

	mu     sync.Mutex
	queues map[mirror.EventKind]*kindQueue
	seq    uint64
	closed bool
	stop   context.Context // ends the running hook and the rest of the queue
	cancel context.CancelFunc
}

// New starts the worker. Close stops it.
func New(cfg Config) *Runner {
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{
		cfg: cfg, log: cfg.Log,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		queues: map[mirror.EventKind]*kindQueue{},
	}
	r.stop, r.cancel = context.WithCancel(context.Background())
	go r.work()
	return r
}

// Handle queues ev when a hook is set for its kind. It never blocks: a
// full queue drops its oldest event. It is mirror.Config.OnEvent.
func (r *Runner) Handle(ev mirror.Event) {
	if r.cfg.Commands[ev.Kind] == "" {
		return
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	q := r.queues[ev.Kind]
	if q == nil {
		q = &kindQueue{}
		r.queues[ev.Kind] = q
	}
	if len(q.events) >= r.cfg.Queue {
		q.events = q.events[1:]
		q.dropped++
	}
	r.seq++
	q.events = append(q.events, queued{ev: ev, seq: r.seq})
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// next takes the oldest event of all kinds.
func (r *Runner) next() (mirror.Event, int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var best *kindQueue
	for _, q := range r.queues {
		if len(q.events) > 0 && (best == nil || q.events[0].seq < best.events[0].seq) {
			best = q
		}
	}
	if best == nil {
		return mirror.Event{}, 0, false
	}
	ev := best.events[0].ev
	best.events = best.events[1:]
	dropped := best.dropped
	best.dropped = 0
	return ev, dropped, true
}

func (r *Runner) work() {
	defer close(r.done)
	// Hooks die with this thread (Pdeathsig): keep it for the worker's life.
	runtime.LockOSThread()
	for {
		for {
			if r.stop.Err() != nil {
				return
			}
			ev, dropped, ok := r.next()
			if !ok {
				break
			}
			if dropped > 0 {
				r.log.Warn("hook queue full: older events dropped, the hook runs for the newest", "hook", "on-"+string(ev.Kind), "dropped", dropped)
			}
			r.run(ev)
		}
		r.mu.Lock()
		closed := r.closed
		r.mu.Unlock()
		if closed {
			return
		}
		select {
		case <-r.wake:
		case <-r.stop.Done():
			return
		}
	}
}

// Close takes no more events and runs the queued ones until ctx ends;
// then it kills the running hook, drops the rest, and returns when no
// hook runs any more.
func (r *Runner) Close(ctx context.Context) {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		r.cancel()
		<-r.done
		if n := r.left(); n > 0 {
			r.log.Warn("hooks not run at exit: out of time", "events", n)
		}
	}
	r.cancel()
}

func (r *Runner) left() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.queues {
		n += len(q.events)
	}
	return n
}
