package mirror

import "time"

// EventKind names what an Event reports; hooks are chosen by it.
type EventKind string

const (
	EventBatch   EventKind = "batch"   // a batch settled (some of its paths may have failed)
	EventError   EventKind = "error"   // an rsync run failed as a whole; it is retried
	EventStuck   EventKind = "stuck"   // a path became stuck: it will not ship by waiting
	EventHold    EventKind = "hold"    // deletes were held back (hold-deletes)
	EventBarrier EventKind = "barrier" // a Sync barrier completed: everything up to it is on the destination
)

// Event is one fact the engine reports to Config.OnEvent. Fields that do
// not apply to the kind are zero.
type Event struct {
	Kind  EventKind
	Time  time.Time
	Dest  string   // the destination's name (Config.Name, or Dest.String())
	Batch uint64   // batch number, for batch and error
	Paths []string // the batch's or the stuck or held paths, at most maxEventPaths
	Count int      // how many paths in all (Paths may be cut short)
	Bytes int64    // bytes sent, for batch
	Error string   // for error and stuck
	Seq   uint64   // the barrier's sequence number, for barrier
}

// maxEventPaths bounds Event.Paths; Count keeps the real number.
const maxEventPaths = 1000

// emitEvent hands ev to Config.OnEvent. Call it without e.mu held: the
// hook runs in the caller's goroutine and must return quickly (the hook
// runner queues and returns; it never blocks shipping).
func (e *Engine) emitEvent(ev Event) {
	if e.cfg.OnEvent == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = e.now()
	}
	if ev.Dest == "" {
		ev.Dest = e.cfg.DestName()
	}
	if ev.Count == 0 {
		ev.Count = len(ev.Paths)
	}
	if len(ev.Paths) > maxEventPaths {
		ev.Paths = ev.Paths[:maxEventPaths]
	}
	e.cfg.OnEvent(ev)
}
