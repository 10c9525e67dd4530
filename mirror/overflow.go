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
func (q *queue) overflow(p string, op Op, seq uint64, now time.Time) *entry {
	for dir := parent(p); dir != "."; dir = parent(dir) {
		if q.get(dir) != nil || q.hasBelow(dir) {
			q.folding = true
			e := q.touch(dir, 0, seq, now, true, false) // p's op is not dir's
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

// overflowState is the full sync owed for changes the full queue left to
// one (q.overflowSeq).
type overflowState struct {
	seen   uint64 // q.overflowSeq already handled
	gen    uint64 // the full sync generation that pays the debt
	minSeq uint64 // the oldest change it covers
	count  uint64 // episodes, for status
}

// noteOverflow schedules the full sync for changes the queue could not
// take, joining one asked for and not started yet. It returns the seq to
// journal (0: nothing new), so that a restart still owes the full sync
// once compaction has dropped those changes' records. e.mu is held.
func (e *Engine) noteOverflow() uint64 {
	seq := e.q.overflowSeq
	if seq <= e.over.seen {
		return 0
	}
	e.over.seen = seq
	f := &e.full
	if e.overOwed() && e.over.gen > f.startGen {
		return seq // the owed full sync has not started: it covers seq too
	}
	if f.reqGen <= f.startGen {
		f.reqGen++
	}
	e.over.gen, e.over.minSeq = f.reqGen, seq
	e.over.count++
	e.log.Warn("more changes pending than max-pending allows; the rest is shipped by recursive runs of their directories and a full sync",
		"max_pending", e.cfg.MaxPending)
	return seq
}

// overOwed reports whether the owed full sync has not finished; e.mu is held.
func (e *Engine) overOwed() bool { return e.over.gen > e.full.doneGen }

// overflowBlocks reports whether a barrier up to limit waits for the owed
// full sync; e.mu is held.
func (e *Engine) overflowBlocks(limit uint64) bool {
	return e.overOwed() && e.over.minSeq <= limit
}
