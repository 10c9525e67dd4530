package mirror

import (
	"time"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// A write or chmod through one name of a hard-linked file is queued under
// that name only: the destination's other names share its inode and follow
// when it ships in place. If the name then leaves (unlinked, or replaced by
// a rename) before it ships, its batch carries a deletion and the change
// would never reach the other names. So the change passes to them: each
// remaining name of the inode gets a write entry of its own.

// linkHeirsLocked returns the other names of the inode that c takes a name
// away from, when a change made through that name may not be on the
// destination yet. It must run before indexLocked forgets the name.
func (e *Engine) linkHeirsLocked(c change.Change) []string {
	if e.links.len() == 0 || (c.Op != change.OpUnlink && c.Op != change.OpRename) {
		return nil
	}
	p := c.Path // the name unlinked, or the one a rename replaced
	id, ok := e.links.idOf(p)
	if !ok || !e.q.unshippedAt(p) {
		return nil
	}
	var heirs []string
	for _, n := range e.links.names(id) {
		if n != p && (c.Op != change.OpRename || n != c.From) {
			heirs = append(heirs, n)
		}
	}
	return heirs
}

// inheritLocked queues a write at each heir and returns the journal marks.
func (e *Engine) inheritLocked(heirs []string, seq uint64, now time.Time) []mark {
	var ms []mark
	for _, h := range heirs {
		if m := e.addWriteLocked(h, seq, now); m.path != "" {
			ms = append(ms, m)
		}
	}
	return ms
}

// addWriteLocked queues a write at p that no change of its own reported.
func (e *Engine) addWriteLocked(p string, seq uint64, now time.Time) mark {
	c := change.Change{Op: change.OpWrite, Path: p}
	e.vf.noteLocked(c)
	return e.q.add(c, seq, now)[0]
}

// A file opened through a name that is then unlinked (or replaced) keeps
// its other names, and the application may go on writing through its
// descriptor. If the mount never looked those names up, the FUSE layer
// knows no path for the writes and reports them by inode (change.Orphan).
// So when a name of an indexed inode goes while the file is open for
// writing, the inode is pinned: its last name stays in the index, and the
// orphan's writes are queued at its names until its last close.

// pinLeavingLocked pins the inode of the name c takes away if the file
// stays open for writing. It must run before indexLocked.
func (e *Engine) pinLeavingLocked(c change.Change) {
	if !c.Open || e.links.len() == 0 {
		return
	}
	if id, ok := e.links.idOf(c.Path); ok && len(e.links.names(id)) > 1 && !e.links.pin(id) {
		e.log.Warn("too many files open for writing after an unlink of one of their names; later writes through this one may reach its other names only at the next full sync",
			"path", c.Path, "limit", maxPinned)
	}
}

// addOrphan queues an orphan's change at the names of its inode.
func (e *Engine) addOrphan(c change.Change) {
	id := fileID{c.Inode.Dev, c.Inode.Ino}
	now := e.now()
	e.mu.Lock()
	e.seq++
	seq := e.seq
	e.totals.Events++
	var ms []mark
	for _, p := range e.links.names(id) {
		if m := e.addWriteLocked(p, seq, now); m.path != "" {
			ms = append(ms, m)
		}
	}
	if !c.Writing {
		e.links.unpin(id)
	}
	e.noteOverflowLocked()
	e.mu.Unlock()
	e.journalMarks(seq, ms)
	e.poke()
}

// unshippedAt reports whether a change at p may not be on the destination
// yet: p has an entry, queued or in flight, or one that covers it.
func (q *queue) unshippedAt(p string) bool {
	return q.get(p) != nil || q.coveringAncestor(p) != nil || q.flightCovers(p)
}
