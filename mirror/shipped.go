package mirror

import (
	"sync/atomic"
	"time"
)

// extras is the engine state of the exclude filter and the shipped hook.
type extras struct {
	excluded atomic.Uint64
	shipped  []Shipped
}

// Change is a set of kinds of change seen at a path before it shipped.
type Change uint16

const (
	ChangeCreate    Change = 1 << iota // something was created at the path
	ChangeModify                       // its content changed
	ChangeAttrib                       // its metadata changed
	ChangeDelete                       // it was removed
	ChangeMovedFrom                    // it was renamed away (or exchanged)
	ChangeMovedTo                      // something was renamed to it (or exchanged)
	ChangeDir                          // a directory was created, removed or moved here
)

// opMovedFrom marks the old name of a rename in an entry's opSet; opSetDir
// marks a directory. Both use bits no Op occupies.
const (
	opMovedFrom Op    = 7
	opSetDir    opSet = 1
)

func (s opSet) changes() Change {
	var c Change
	for _, m := range []struct {
		op Op
		c  Change
	}{
		{OpCreate, ChangeCreate}, {OpModify, ChangeModify}, {OpAttrib, ChangeAttrib},
		{OpDelete, ChangeDelete}, {OpRename, ChangeMovedTo}, {opMovedFrom, ChangeMovedFrom},
		{OpExchange, ChangeMovedFrom | ChangeMovedTo},
	} {
		if s.has(m.op) {
			c |= m.c
		}
	}
	if s&opSetDir != 0 {
		c |= ChangeDir
	}
	return c
}

// Shipped is one path a batch settled: on the destination, or failed on
// its own (then it stays queued and is retried).
type Shipped struct {
	Path     string    // relative to the root, "." for the root
	Changes  Change    // what happened to it since it was last shipped
	Last     time.Time // its latest change
	Time     time.Time // when the batch settled
	Batch    uint64    // the batch's number, counting from 1
	Err      string    // empty when the path is on the destination
	Attempts int       // failures so far, for Err
}

// noteShippedLocked records a settled entry for Config.OnShipped.
func (e *Engine) noteShippedLocked(m *entry, errMsg string) {
	if e.cfg.OnShipped == nil {
		return
	}
	e.x.shipped = append(e.x.shipped, Shipped{
		Path: m.path, Changes: m.ops.changes(), Last: m.last, Time: e.now(),
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
