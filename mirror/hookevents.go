package mirror

import "sync"

// eventBuf gathers, under e.mu, the events a batch or a full sync raises;
// flushEvents hands them to Config.OnEvent once the lock is released.
type eventBuf struct {
	// emitMu (not e.mu) keeps events in the order they were raised
	// across goroutines: a barrier never overtakes the batch that met it.
	emitMu sync.Mutex
	events []Event
	// The batch being shipped: the paths it put on the destination.
	paths []string
	count int
	// Paths that failed on their own for the first time in this run.
	stuck      []string
	stuckErr   string
	stuckCount int
}

func (e *Engine) queueEventLocked(ev Event) {
	if e.cfg.OnEvent != nil {
		e.x.ev.events = append(e.x.ev.events, ev)
	}
}

// noteBatchPathLocked records a path the batch put on the destination.
func (e *Engine) noteBatchPathLocked(p string) {
	if e.cfg.OnEvent == nil {
		return
	}
	b := &e.x.ev
	b.count++
	if len(b.paths) < maxEventPaths {
		b.paths = append(b.paths, p)
	}
}

// noteStuckLocked records a path that just began failing on its own.
func (e *Engine) noteStuckLocked(p, msg string) {
	if e.cfg.OnEvent == nil {
		return
	}
	b := &e.x.ev
	if b.stuckCount == 0 {
		b.stuckErr = msg
	}
	b.stuckCount++
	if len(b.stuck) < maxEventPaths {
		b.stuck = append(b.stuck, p)
	}
}

// queueBatchLocked closes the batch: one batch event, and one stuck event
// for the paths that began failing in it.
func (e *Engine) queueBatchLocked(batch uint64, bytes int64) {
	if e.cfg.OnEvent == nil {
		return
	}
	b := &e.x.ev
	e.queueEventLocked(Event{Kind: EventBatch, Batch: batch, Paths: b.paths, Count: b.count, Bytes: bytes})
	b.paths, b.count = nil, 0
	e.queueStuckLocked(batch)
}

// closeFailedBatchLocked closes a batch cut short by a failed run: what
// its earlier runs shipped still gets its batch event.
func (e *Engine) closeFailedBatchLocked(batch uint64, bytes int64) {
	if e.x.ev.count > 0 {
		e.queueBatchLocked(batch, bytes)
		return
	}
	e.queueStuckLocked(batch)
}

func (e *Engine) queueStuckLocked(batch uint64) {
	b := &e.x.ev
	if b.stuckCount > 0 {
		e.queueEventLocked(Event{Kind: EventStuck, Batch: batch, Paths: b.stuck, Count: b.stuckCount, Error: b.stuckErr})
	}
	b.stuck, b.stuckCount, b.stuckErr = nil, 0, ""
}

// flushEvents emits what was gathered, then then. Call it without e.mu.
func (e *Engine) flushEvents(then ...Event) {
	if e.cfg.OnEvent == nil {
		return
	}
	e.x.ev.emitMu.Lock()
	defer e.x.ev.emitMu.Unlock()
	e.mu.Lock()
	evs := e.x.ev.events
	e.x.ev.events = nil
	e.mu.Unlock()
	for _, ev := range append(evs, then...) {
		e.emitEvent(ev)
	}
}
