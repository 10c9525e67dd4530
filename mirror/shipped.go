package mirror

import (
	"sync/atomic"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// extras is the engine state of the exclude filter and the shipped hook.
type extras struct {
	excluded atomic.Uint64
	shipped  []Shipped
	ev       eventBuf // events for Config.OnEvent (hookevents.go)
}

// Shipped is one path a batch settled: on the destination, or failed on
// its own (then it stays queued and is retried).
type Shipped struct {
	Path     string       // relative to the root, "." for the root
	Changes  change.Kinds // what happened to it since it was last shipped
	Last     time.Time    // its latest change
	Time     time.Time    // when the batch settled
	Batch    uint64       // the batch's number, counting from 1
	Err      string       // empty when the path is on the destination
	Attempts int          // failures so far, for Err
}

// noteShippedLocked records a settled entry for Config.OnShipped.
func (e *Engine) noteShippedLocked(m *entry, errMsg string) {
	if e.cfg.OnShipped == nil {
		return
	}
	e.x.shipped = append(e.x.shipped, Shipped{
		Path: m.path, Changes: m.ops, Last: m.last, Time: e.now(),
		Batch: e.totals.Batches, Err: errMsg, Attempts: int(m.attempts),
	})
}

// emitShipped hands what settled to Config.OnShipped, outside the lock so
// the hook cannot stall the filesystem.
func (e *Engine) emitShipped() {
	if e.cfg.OnShipped == nil {
		return
	}
	e.mu.Lock()
	s := e.x.shipped
	e.x.shipped = nil
	e.mu.Unlock()
	if len(s) > 0 {
		e.cfg.OnShipped(s)
	}
}
