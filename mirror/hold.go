package mirror

import (
	"fmt"
	"sort"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// Holding mass deletes (hold-deletes): Add counts the file deletes it
// sees, one per unlink, before the queue folds them into a directory's
// entry: those waiting to ship, and those shipped within HoldWindow. When
// they are more than the limit, the counted deletes still queued and
// every delete after them are held: kept out of the queue, journaled, and
// protected from every --delete run (hold_guard.go) until Release. Other
// changes keep flowing.
//
// A rename is not a delete here: the data lives on under the new name in
// the mirror, so renaming a big directory never trips the hold. A path
// created again (create, mkdir, link, or a rename onto it) is no longer
// held: the new file ships as any change does.

// holdState is the hold's part of the engine; guarded by Engine.mu.
type holdState struct {
	recent      []recentDelete  // the deletes that count (waiting, or within the window), oldest first
	head        int             // recent[:head] no longer count
	recentFiles int             // how many of recent[head:] are files
	paths       map[string]bool // held: path -> is a directory
	files       int             // held paths that are not directories
	since       time.Time
	reason      string
	tree        int  // files in the source: the start-up walk's count, kept up to date by Add
	treeKnown   bool // the walk has counted them
}

type recentDelete struct {
	path string
	dir  bool
	at   time.Time
}

// maxRecentFactor bounds the window's memory when directories (which do not
// count) are deleted en masse.
const maxRecentFactor = 4

func (h *holdState) on() bool { return len(h.paths) > 0 }

// holdAddLocked is Add's hook. It reports whether it took c (held: not to
// be queued) and whether c started a hold (to announce, without e.mu).
func (e *Engine) holdAddLocked(c change.Change, now time.Time) (took, started bool) {
	h := &e.hold
	switch c.Op {
	case change.OpCreate, change.OpMknod, change.OpSymlink, change.OpLink:
		h.tree++
		e.unholdLocked(c.Path)
		return false, false
	case change.OpMkdir:
		e.unholdLocked(c.Path)
		return false, false
	case change.OpRename, change.OpExchange:
		e.unholdLocked(c.Path)
		return false, false
	case change.OpUnlink, change.OpRmdir:
	default:
		return false, false
	}
	dir := c.Op == change.OpRmdir
	if !dir {
		h.tree--
	}
	if !e.cfg.HoldDeletes.On() || e.neverShippedLocked(c.Path) {
		return false, false
	}
	if h.on() {
		e.holdPathLocked(c.Path, dir, true)
		return true, false
	}
	e.noteDeleteLocked(recentDelete{path: c.Path, dir: dir, at: now})
	limit, ok := e.holdLimitLocked()
	if !ok || h.recentFiles <= limit {
		return false, false
	}
	h.since = now
	h.reason = fmt.Sprintf("%d file deletes waiting to ship or shipped within %s, more than hold-deletes=%s allows", h.recentFiles, e.cfg.HoldWindow, e.cfg.HoldDeletes)
	if e.cfg.HoldDeletes.Percent > 0 {
		h.reason += fmt.Sprintf(" (%d of %d files)", limit, h.tree+h.recentFiles)
	}
	last := len(h.recent) - 1
	for i := h.head; i <= last; i++ {
		e.holdPathLocked(h.recent[i].path, h.recent[i].dir, i == last)
	}
	h.recent, h.head, h.recentFiles = nil, 0, 0
	return true, true
}

// holdLimitLocked is the number of file deletes the window may ship; a
// percentage is of the files the source had before the window's deletes.
func (e *Engine) holdLimitLocked() (int, bool) {
	h := &e.hold
	return e.cfg.HoldDeletes.limit(h.tree+h.recentFiles, h.treeKnown)
}

// neverShippedLocked reports whether p's entry, or a recursive ancestor
// covering it, was created since it last shipped: deleting it deletes
// nothing on the destination, so it neither counts nor is held.
func (e *Engine) neverShippedLocked(p string) bool {
	if en := e.q.get(p); en != nil {
		return en.born
	}
	a := e.q.coveringAncestor(p)
	return a != nil && a.born
}

func (e *Engine) noteDeleteLocked(r recentDelete) {
	h := &e.hold
	h.recent = append(h.recent, r)
	if !r.dir {
		h.recentFiles++
	}
	limit, _ := e.holdLimitLocked()
	for h.head < len(h.recent) {
		o := h.recent[h.head]
		over := len(h.recent)-h.head > maxRecentFactor*(limit+1)
		if !over && (r.at.Sub(o.at) <= e.cfg.HoldWindow || e.waitingDeleteLocked(o.path)) {
			break
		}
		if !o.dir {
			h.recentFiles--
		}
		h.recent[h.head] = recentDelete{}
		h.head++
	}
	// Dropped from the front in O(1); moved down once half is dropped.
	if h.head > len(h.recent)/2 {
		h.recent = append(h.recent[:0], h.recent[h.head:]...)
		h.head = 0
	}
}

// waitingDeleteLocked reports whether the delete of p still waits to
// ship: such a delete counts however old it is (an outage must not let a
// slow mass delete through). Checked at the window's oldest end only.
func (e *Engine) waitingDeleteLocked(p string) bool {
	return e.q.pendingAt(p) && !e.exists(p)
}

// holdPathLocked holds the delete of p. current is the change being
// added; an earlier delete of the window is held only while its entry
// still waits in the queue (one in flight or shipped is the destination's
// already), and only if p is still gone from the source.
func (e *Engine) holdPathLocked(p string, dir, current bool) {
	h := &e.hold
	en := e.q.get(p)
	if !current && (en == nil || en.place == placeFlight || e.exists(p)) {
		return
	}
	if en != nil && en.place != placeFlight {
		e.q.unlink(en)
		e.j.ack(p, e.seq, en.recursive)
		e.broadcastLocked() // a Sync may have waited for it
	}
	if h.paths == nil {
		h.paths = make(map[string]bool)
	}
	if _, ok := h.paths[p]; ok {
		return
	}
	h.paths[p] = dir
	if !dir {
		h.files++
	}
	reason := ""
	if len(h.paths) == 1 {
		reason = h.reason
	}
	e.j.hold(p, dir, h.since, reason)
}

// unholdLocked drops a held delete that something new at p supersedes.
func (e *Engine) unholdLocked(p string) {
	h := &e.hold
	dir, ok := h.paths[p]
	if !ok {
		return
	}
	delete(h.paths, p)
	if !dir {
		h.files--
	}
	e.j.unhold(p)
	if !h.on() {
		e.endHoldLocked()
	}
}

func (e *Engine) endHoldLocked() {
	h := &e.hold
	h.paths, h.files, h.since, h.reason = nil, 0, time.Time{}, ""
	h.recent, h.head, h.recentFiles = nil, 0, 0
}

// heldPathsLocked returns the held paths, sorted.
func (e *Engine) heldPathsLocked() []string {
	out := make([]string, 0, len(e.hold.paths))
	for p := range e.hold.paths {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

const maxHeldListed = 100

func (e *Engine) heldStatusLocked() HeldStatus {
	h := &e.hold
	if !h.on() {
		return HeldStatus{}
	}
	ps := e.heldPathsLocked()
	if len(ps) > maxHeldListed {
		ps = ps[:maxHeldListed]
	}
	return HeldStatus{Count: h.files, Paths: ps, Since: tptr(h.since), Reason: h.reason}
}

// announceHold logs and reports a hold that just started; without e.mu.
func (e *Engine) announceHold() {
	e.mu.Lock()
	s := e.heldStatusLocked()
	paths := e.heldPathsLocked()
	e.mu.Unlock()
	e.log.Warn("mass delete: deletes are held back, the destination keeps those files until `mirrorfs release`; other changes keep flowing",
		"held", s.Count, "reason", s.Reason, "first", firstOf(paths))
	e.emitEvent(Event{Kind: EventHold, Paths: paths, Count: s.Count})
}

func firstOf(ps []string) string {
	if len(ps) == 0 {
		return ""
	}
	return ps[0]
}

// noteTreeFiles records the source's file count from the start-up walk.
func (e *Engine) noteTreeFilesLocked(n int) {
	e.hold.tree, e.hold.treeKnown = n, true
}
