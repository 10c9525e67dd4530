package mirror

import "time"

// DefaultMaxPending bounds the queue: about 200 bytes an entry, so some
// 50 MB of memory at the limit, whatever the backlog.
const DefaultMaxPending = 250000

// overflow records a change at p when the queue is full. Rather than a
// new entry, the nearest directory above p that already has one, or has
// entries inside it, becomes recursive: one rsync -r --delete then ships
// p and its neighbours, and their entries are absorbed, so the count does
// not grow. With no such directory, p is left to a full sync that starts
// after seq (overflowSeq; the Engine schedules it). Nothing is dropped:
// each change is shipped by an rsync that reads more of the tree than it
// strictly needs. That is the price of a backlog past the limit (a
// destination down during a large copy), against memory that grows
// without bound.
func (q *queue) overflow(p string, seq uint64, now time.Time) *entry {
	for dir := parent(p); dir != "."; dir = parent(dir) {
		if q.get(dir) != nil || q.hasBelow(dir) {
			q.folding = true
			e := q.touch(dir, 0, seq, now, true, false) // p's kinds are not dir's
			q.folding = false
			return e
		}
	}
	q.overflowSeq = max(q.overflowSeq, seq)
	return nil
}

// hasBelow reports whether an entry lies inside dir.
func (q *queue) hasBelow(dir string) bool {
	found := false
	q.ascendBelow(dir, func(*entry) bool {
		found = true
		return false
	})
	return found
}

// overflowState is what the engine has made of the queue's overflow.
type overflowState struct {
	seen  uint64 // q.overflowSeq already turned into a debt
	count uint64 // episodes, for status
}

// noteOverflowLocked owes a full sync for changes the queue could not
// take, joining one owed and not started yet.
func (e *Engine) noteOverflowLocked() {
	seq := e.q.overflowSeq
	if seq <= e.over.seen {
		return
	}
	e.over.seen = seq
	if e.oweLocked(ReasonOverflow, seq) {
		e.over.count++
		e.log.Warn("more changes pending than the queue holds; the rest is shipped by recursive runs of their directories and a full sync",
			"max_pending", e.cfg.MaxPending)
	}
}
