package mirror

import (
	"strings"
	"time"

	"github.com/google/btree"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// maxPath is rsync's MAXPATHLEN: longer names cannot be carried by it.
const maxPath = 4096

type place uint8

const (
	placeNone    place = iota
	placeReady         // in the tree and on byLast/byFirst
	placeBackoff       // in the tree and on the backoff list (per-path failure)
	placeFlight        // in the running batch
)

// entry is one path to make equal on the destination.
// Fields are ordered, and failure details kept apart, to keep an entry
// small: a million pending paths must fit in memory.
type entry struct {
	path      string
	recursive bool // ship with -r --delete
	born      bool // created in this window: the destination has never seen it
	lead      bool // the first change after a quiet period: ships at once
	writing   bool // its file is still open for writing: wait for the close
	relink    bool // ship as a new name, never in place (relink.go)
	ops       change.Kinds
	place     place
	attempts  int    // per-path failures in a row
	seq       uint64 // first event not yet on the destination
	first     time.Time
	last      time.Time
	fail      *pathFail // set once attempts > 0
	links     [2]link
	coveredBy *entry // in a batch: shipped by this recursive ancestor
}

// pathFail is the last per-path failure of an entry.
type pathFail struct {
	lastErr  string
	errSince time.Time
	retryAt  time.Time
	epoch    uint64 // sync epoch of the batch that last failed it
}

func (e *entry) lastErr() string {
	if e.fail == nil {
		return ""
	}
	return e.fail.lastErr
}

// longPath is a path rsync cannot carry; it is reported, never shipped.
type longPath struct {
	path  string
	seq   uint64
	since time.Time
}

// queue is the pure coalescing logic; the Engine serializes access to it.
type queue struct {
	tree    *btree.BTreeG[*entry]
	byLast  elist
	byFirst elist
	backoff elist
	flight  map[string]*entry
	long    map[string]*longPath
	// fullSync is set while a whole-tree rsync runs: nothing can be born
	// then, since rsync may copy a new file before its deletion is seen.
	fullSync bool
	newLong  []string // long paths not yet logged
	key      entry
	// renamed: recursive entries created by a directory rename, with the
	// old path (see reuse.go). Kept apart so entries stay small.
	renamed map[*entry]*rename
	// limit bounds the entries (0: none); past it, changes are folded into
	// their directories, then into a full sync (overflow.go).
	limit int
	// overflowSeq is the newest change left to a full sync: one that
	// starts after it must run.
	overflowSeq uint64
	folding     bool // overflow is adding the recursive entry it chose
	// quiet is how long no change must come for the next one to lead: it
	// ships at once instead of waiting out the debounce (leading edge).
	quiet   time.Duration
	lastAdd time.Time
	leads   []*entry
}

func newQueue() *queue {
	return &queue{
		tree:    btree.NewG(32, func(a, b *entry) bool { return a.path < b.path }),
		byLast:  elist{which: lByLast},
		byFirst: elist{which: lByFirst},
		backoff: elist{which: lByLast},
		flight:  make(map[string]*entry),
		long:    make(map[string]*longPath),
	}
}

func (q *queue) get(p string) *entry {
	q.key.path = p
	e, _ := q.tree.Get(&q.key)
	return e
}

func (q *queue) pending() int { return q.tree.Len() }

// parent returns the parent of a relative path; "." for top-level names.
func parent(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return "."
}

// isBelow reports whether p lies strictly inside dir.
func isBelow(p, dir string) bool {
	if dir == "." {
		return p != "."
	}
	return len(p) > len(dir) && p[len(dir)] == '/' && strings.HasPrefix(p, dir)
}

// ascendBelow visits the pending entries strictly inside dir. Descendants
// of "d" are the keys in ["d/", "d0"): '0' is the byte after '/'.
func (q *queue) ascendBelow(dir string, fn func(*entry) bool) {
	if dir == "." {
		q.tree.Ascend(func(e *entry) bool {
			if e.path == "." {
				return true
			}
			return fn(e)
		})
		return
	}
	q.tree.AscendRange(&entry{path: dir + "/"}, &entry{path: dir + "0"}, fn)
}

// coveringAncestor returns a pending recursive ancestor of p, if any.
func (q *queue) coveringAncestor(p string) *entry {
	for a := p; a != "."; {
		a = parent(a)
		if e := q.get(a); e != nil && e.recursive {
			return e
		}
	}
	return nil
}

// flightCovers reports whether a running rsync may transfer p on its own.
func (q *queue) flightCovers(p string) bool {
	if q.fullSync || q.flight[p] != nil {
		return true
	}
	for a := p; a != "."; {
		a = parent(a)
		if e := q.flight[a]; e != nil && e.recursive {
			return true
		}
	}
	return false
}

// add folds one change into the queue: the one place where operations
// become queue actions. It returns the paths it marked, for the journal.
func (q *queue) add(c change.Change, seq uint64, now time.Time) (ms [2]mark) {
	if len(q.renamed) > 0 {
		q.staleRenames(c)
	}
	lead := q.quiet > 0 && (q.lastAdd.IsZero() || now.Sub(q.lastAdd) >= q.quiet)
	q.lastAdd = now
	e, ms := q.fold(c, seq, now)
	if e == nil || e.place != placeReady {
		return ms
	}
	if e.path == c.Path {
		e.writing = c.Writing
	}
	// A new directory does not lead: whatever fills it comes right after,
	// and copying it half full would race with that. A renamed one is
	// whole already. A rename leads with its old name's deletion, so that
	// one batch holds both and can pre-seed a directory from the
	// destination's old copy (reuse.go).
	renamed := c.Op == change.OpRename && e.path == c.Path // not an ancestor that covers it
	if lead && (!e.recursive || renamed) {
		q.lead(e)
		if renamed {
			if f := q.get(c.From); f != nil && f.place == placeReady {
				q.lead(f)
			}
		}
	}
	return ms
}

func (q *queue) lead(e *entry) {
	if !e.lead {
		e.lead = true
		q.leads = append(q.leads, e)
	}
}

// fold applies one change to the entries; it returns the entry that
// ships it and the marks for the journal.
func (q *queue) fold(c change.Change, seq uint64, now time.Time) (e *entry, ms [2]mark) {
	pk, fk := c.Kinds()
	dir := pk & change.Of(change.IsDir) // on Path's own entry only
	pk &^= dir
	switch c.Op {
	case change.OpCreate, change.OpMkdir, change.OpMknod, change.OpSymlink, change.OpLink:
		ms[0] = mark{c.Path, c.Dir, pk}
		e = q.touch(c.Path, pk, seq, now, c.Dir, true)
		if c.Op == change.OpLink && c.From != "" {
			// The old name's link count changed: ship its attributes too.
			ms[1] = mark{c.From, false, change.Of(change.Attrib)}
			q.touch(c.From, ms[1].kinds, seq, now, false, false)
		}
	case change.OpUnlink, change.OpRmdir:
		ms[0] = mark{c.Path, false, pk}
		e = q.gone(c.Path, pk, seq, now)
	case change.OpRename:
		ms = [2]mark{{c.From, false, fk}, {c.Path, c.Dir, pk}}
		var changed []string
		// Only between names the destination is up to date on (reuse.go).
		fresh := c.Dir && q.get(c.Path) == nil && q.flight[c.Path] == nil && q.get(c.From) == nil
		if fresh {
			changed, fresh = q.changedBelow(c.From)
		}
		old := q.gone(c.From, fk, seq, now)
		e = q.touch(c.Path, pk, seq, now, c.Dir, false)
		if fresh {
			q.noteRename(e, old, c, changed)
		}
	case change.OpExchange:
		// Dir describes only one side, and -r on a file is harmless.
		ms = [2]mark{{c.From, true, fk}, {c.Path, true, pk}}
		q.touch(c.From, fk, seq, now, true, false)
		e = q.touch(c.Path, pk, seq, now, true, false)
	default: // content and attributes
		ms[0] = mark{c.Path, false, pk}
		e = q.touch(c.Path, pk, seq, now, false, false)
	}
	if e != nil && e.path == c.Path {
		e.ops |= dir
	}
	return e, ms
}

// mark is one path a change asks to make equal, as the journal keeps it.
type mark struct {
	path      string
	recursive bool
	kinds     change.Kinds
}

// touch records a change at p and returns the entry that will ship it.
func (q *queue) touch(p string, k change.Kinds, seq uint64, now time.Time, recursive, create bool) *entry {
	if len(p) >= maxPath {
		if _, ok := q.long[p]; !ok {
			q.long[p] = &longPath{path: p, seq: seq, since: now}
			q.newLong = append(q.newLong, p)
		}
		return nil
	}
	e := q.get(p)
	if e == nil {
		if a := q.coveringAncestor(p); a != nil {
			q.bump(a, k, now)
			return a
		}
		if q.limit > 0 && q.tree.Len() >= q.limit && p != "." && !q.folding {
			return q.overflow(p, seq, now)
		}
		e = &entry{path: p, first: now, last: now, seq: seq}
		e.born = create && !q.flightCovers(p)
		q.tree.ReplaceOrInsert(e)
		q.byLast.pushBack(e)
		q.byFirst.pushBack(e)
		e.place = placeReady
	} else {
		q.bump(e, 0, now)
	}
	e.ops |= k
	if recursive && !e.recursive {
		e.recursive = true
		q.dropBelow(p, e, false)
	}
	return e
}

func (q *queue) bump(e *entry, k change.Kinds, now time.Time) {
	e.last = now
	e.ops |= k
	if e.place == placeReady {
		q.byLast.remove(e)
		q.byLast.pushBack(e)
	}
}

// gone records that p no longer exists (deleted or renamed away). It
// returns the surviving entry, or nil when the path was born and vanished.
func (q *queue) gone(p string, k change.Kinds, seq uint64, now time.Time) *entry {
	if len(p) >= maxPath {
		delete(q.long, p)
		q.dropLongBelow(p)
		return nil
	}
	if e := q.get(p); e != nil && e.born {
		q.unlink(e)
		q.dropBelow(p, nil, true)
		return nil
	}
	e := q.touch(p, k, seq, now, false, false)
	if e != nil && e.path == p {
		q.dropBelow(p, e, true)
	}
	return e
}

// dropBelow removes the pending entries inside dir; into (if any) inherits
// their barrier position. Long paths go too when the subtree is gone.
func (q *queue) dropBelow(dir string, into *entry, goneToo bool) {
	var victims []*entry
	q.ascendBelow(dir, func(c *entry) bool {
		victims = append(victims, c)
		return true
	})
	for _, c := range victims {
		if into != nil {
			q.absorb(into, c)
		}
		q.unlink(c)
	}
	if goneToo {
		q.dropLongBelow(dir)
	}
}

func (q *queue) dropLongBelow(dir string) {
	for p := range q.long {
		if isBelow(p, dir) {
			delete(q.long, p)
		}
	}
}

// absorb merges c's history into e. When c is older, e takes c's place on
// the first-change list so the list stays ordered.
func (q *queue) absorb(e, c *entry) {
	e.seq = min(e.seq, c.seq)
	e.ops |= c.ops
	e.born = e.born && c.born
	e.relink = e.relink || c.relink
	if c.first.Before(e.first) {
		e.first = c.first
		if e.place == placeReady {
			q.byFirst.remove(e)
			if c.place == placeReady {
				q.byFirst.insertBefore(e, c)
			} else {
				q.byFirst.insertSorted(e, func(x *entry) bool { return x.first.After(e.first) })
			}
		}
	}
}

func (q *queue) unlink(e *entry) {
	switch e.place {
	case placeReady:
		q.byLast.remove(e)
		q.byFirst.remove(e)
	case placeBackoff:
		q.backoff.remove(e)
	}
	if e.place != placeNone && e.place != placeFlight {
		q.tree.Delete(e)
	}
	e.place = placeNone
	delete(q.renamed, e)
}

// pick selects what a batch should take now.
type pick struct {
	delay, maxDelay time.Duration
	max             int
	urgent          bool   // a Sync or Flush waits: ship everything now
	urgentSeq       uint64 // entries up to here may skip their per-path backoff once per epoch
	epoch           uint64
}

// held reports whether a ready entry waits for its writer to close.
func (p pick) held(e *entry, now time.Time) bool {
	return e.writing && !p.urgent && now.Sub(e.first) < p.maxDelay
}

// take moves the ready entries (at most p.max) into flight: leading
// changes at once, the others once quiet for delay, every one once it
// has waited max-delay, and all of them for a waiting barrier; a file
// still open for writing waits for its close, up to max-delay.
func (q *queue) take(now time.Time, p pick) []*entry {
	var out []*entry
	full := func() bool { return p.max > 0 && len(out) >= p.max }
	leads := q.leads[:0]
	for _, e := range q.leads {
		switch {
		case e.place != placeReady || !e.lead:
		case p.held(e, now) || full():
			leads = append(leads, e)
		default:
			q.toFlight(e)
			out = append(out, e)
		}
	}
	clear(q.leads[len(leads):])
	q.leads = leads
	for e := q.backoff.head; e != nil && !full(); {
		next := e.links[lByLast].next
		if !e.fail.retryAt.After(now) || (p.urgent && e.seq <= p.urgentSeq && e.fail.epoch < p.epoch) {
			q.toFlight(e)
			out = append(out, e)
		}
		e = next
	}
	for e := q.byFirst.head; e != nil && !full(); e = q.byFirst.head {
		if !p.urgent && now.Sub(e.first) < p.maxDelay {
			break
		}
		q.toFlight(e)
		out = append(out, e)
	}
	for e := q.byLast.head; e != nil && !full(); {
		next := e.links[lByLast].next
		if now.Sub(e.last) < p.delay {
			break
		}
		if !p.held(e, now) {
			q.toFlight(e)
			out = append(out, e)
		}
		e = next
	}
	for _, e := range out {
		// A parent created implicitly on the destination is no longer unborn.
		q.seenAbove(e.path)
	}
	return out
}

// seenAbove marks the pending entries of p's parents as no longer unborn.
func (q *queue) seenAbove(p string) {
	for a := p; a != "."; {
		a = parent(a)
		if pe := q.get(a); pe != nil {
			pe.born = false
		}
	}
}

// shipping records that a run lists p without taking its entry (another
// name of a linked file): the destination may have it from now on, so a
// pending entry of p, or of a parent, is no longer unborn. Otherwise its
// deletion would be dropped as that of a path never shipped.
func (q *queue) shipping(p string) {
	if e := q.get(p); e != nil {
		e.born = false
	}
	q.seenAbove(p)
}

func (q *queue) toFlight(e *entry) {
	r, renamed := q.renamed[e]
	q.unlink(e)
	e.lead = false
	if renamed {
		q.renamed[e] = r
	}
	e.place = placeFlight
	q.flight[e.path] = e
}

// nextReady is when take would next return something without urgency.
func (q *queue) nextReady(p pick) (time.Time, bool) {
	var t time.Time
	set := func(c time.Time) {
		if t.IsZero() || c.Before(t) {
			t = c
		}
	}
	for e := q.byLast.head; e != nil; e = e.links[lByLast].next {
		if !e.writing {
			set(e.last.Add(p.delay)) // held ones are due at first + maxDelay, below
			break
		}
	}
	for _, e := range q.leads {
		if e.place == placeReady && !e.writing {
			set(e.last)
		}
	}
	if e := q.byFirst.head; e != nil {
		set(e.first.Add(p.maxDelay))
	}
	for e := q.backoff.head; e != nil; e = e.links[lByLast].next {
		set(e.fail.retryAt)
	}
	return t, !t.IsZero()
}

// done retires a shipped entry.
func (q *queue) done(e *entry) {
	if q.flight[e.path] == e {
		delete(q.flight, e.path)
	}
	e.place = placeNone
	delete(q.renamed, e)
}

// failure is a per-path failure to record on requeue.
type failure struct {
	msg     string
	retryAt time.Time
	epoch   uint64
	now     time.Time
}

// requeue puts an in-flight entry back, merging it with newer changes.
// f is nil when the whole batch failed (the path itself is not to blame).
func (q *queue) requeue(e *entry, f *failure) {
	r, renamed := q.renamed[e]
	q.done(e)
	if renamed && f == nil && q.get(e.path) == nil && q.coveringAncestor(e.path) == nil {
		q.renamed[e] = r // reinserted below as it is
	}
	e.born = false
	e.coveredBy = nil
	if f != nil {
		e.attempts++
		if e.fail == nil {
			e.fail = &pathFail{errSince: f.now}
		}
		e.fail.lastErr, e.fail.retryAt, e.fail.epoch = f.msg, f.retryAt, f.epoch
	}
	if p := q.get(e.path); p != nil {
		q.absorb(p, e)
		p.born = false
		if e.recursive && !p.recursive {
			p.recursive = true
			if f == nil {
				q.dropBelow(p.path, p, false)
			}
		}
		if e.attempts > 0 {
			p.attempts, p.fail = e.attempts, e.fail
			if f != nil && p.place == placeReady {
				q.unlink(p)
				q.tree.ReplaceOrInsert(p)
				q.backoff.pushBack(p)
				p.place = placeBackoff
			}
		}
		return
	}
	if a := q.coveringAncestor(e.path); a != nil && f == nil {
		q.absorb(a, e)
		return
	}
	q.tree.ReplaceOrInsert(e)
	if e.recursive && f == nil {
		// Changes below it that arrived while it was in flight: it ships
		// them again, and without this they would stay as entries of their
		// own (under a long outage, up to max-pending of them). Not after a
		// failure of its own: they would wait out its backoff.
		q.dropBelow(e.path, e, false)
	}
	if f != nil {
		q.backoff.pushBack(e)
		e.place = placeBackoff
		return
	}
	// A requeued entry is old: its place is near the head.
	q.byFirst.insertSorted(e, func(c *entry) bool { return c.first.After(e.first) })
	q.byLast.insertSorted(e, func(c *entry) bool { return c.last.After(e.last) })
	e.place = placeReady
}

// blocking reports whether an event up to limit is still on its way, and
// otherwise which entries up to limit are stuck (stuckOK) rather than done.
func (q *queue) blocking(limit uint64, stuckOK func(*entry) bool) (blocked bool, stuck []*entry) {
	check := func(e *entry) {
		if e.seq > limit {
			return
		}
		if stuckOK(e) {
			stuck = append(stuck, e)
		} else {
			blocked = true
		}
	}
	for _, e := range q.flight {
		if e.seq <= limit {
			blocked = true
		}
	}
	for e := q.backoff.head; e != nil; e = e.links[lByLast].next {
		check(e)
	}
	if blocked {
		return true, nil
	}
	for e := q.byFirst.head; e != nil; e = e.links[lByFirst].next {
		if e.seq <= limit {
			return true, nil
		}
	}
	return false, stuck
}

// oldest is the first change time of the oldest pending entry.
func (q *queue) oldest() (time.Time, bool) {
	var t time.Time
	older := func(c time.Time) {
		if t.IsZero() || c.Before(t) {
			t = c
		}
	}
	if h := q.byFirst.head; h != nil {
		older(h.first)
	}
	for e := q.backoff.head; e != nil; e = e.links[lByLast].next {
		older(e.first)
	}
	for _, e := range q.flight {
		older(e.first)
	}
	return t, !t.IsZero()
}

// failing visits the entries that failed on their own, waiting or in flight.
func (q *queue) failing(fn func(*entry)) {
	for e := q.backoff.head; e != nil; e = e.links[lByLast].next {
		if e.attempts > 0 {
			fn(e)
		}
	}
	for _, e := range q.flight {
		if e.attempts > 0 {
			fn(e)
		}
	}
}

// each visits every pending entry, in the tree and in flight, until fn
// returns false.
func (q *queue) each(fn func(*entry) bool) {
	ok := true
	q.tree.Ascend(func(e *entry) bool { ok = fn(e); return ok })
	for _, e := range q.flight {
		if !ok {
			return
		}
		ok = fn(e)
	}
}

// inFlight is the number of entries the running batch holds.
func (q *queue) inFlight() int { return len(q.flight) }

// longCount is the number of paths too long for rsync.
func (q *queue) longCount() int { return len(q.long) }

// eachLong visits the paths too long for rsync.
func (q *queue) eachLong(fn func(*longPath)) {
	for _, l := range q.long {
		fn(l)
	}
}

// noteLong records an over-long path rsync found inside a directory; it
// reports whether it is new.
func (q *queue) noteLong(p string, now time.Time) {
	if _, ok := q.long[p]; !ok {
		q.long[p] = &longPath{path: p, since: now}
		q.newLong = append(q.newLong, p)
	}
}

// waitsSince reports whether an entry from seq or before waits for its
// first batch, or is in flight.
func (q *queue) waitsSince(seq uint64) bool {
	if h := q.byFirst.head; h != nil && h.seq <= seq {
		return true
	}
	for _, e := range q.flight {
		if e.seq <= seq {
			return true
		}
	}
	return false
}

// pendingAt reports whether p has an entry, queued or in flight.
func (q *queue) pendingAt(p string) bool { return q.get(p) != nil || q.flight[p] != nil }

// takeNewLong returns the over-long paths not yet reported, once.
func (q *queue) takeNewLong() []string {
	l := q.newLong
	q.newLong = nil
	return l
}

// renameOf returns the directory rename that created e (reuse.go).
func (q *queue) renameOf(e *entry) (*rename, bool) {
	r, ok := q.renamed[e]
	return r, ok
}

// hasRenames reports whether any pending entry came from a directory rename.
func (q *queue) hasRenames() bool { return len(q.renamed) > 0 }
