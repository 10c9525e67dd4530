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
		m := e.q.add(change.Change{Op: change.OpWrite, Path: h}, seq, now)
		if m[0].path != "" {
			ms = append(ms, m[0])
		}
	}
	return ms
}

// unshippedAt reports whether a change at p may not be on the destination
// yet: p has an entry, queued or in flight, or one that covers it.
func (q *queue) unshippedAt(p string) bool {
	return q.get(p) != nil || q.coveringAncestor(p) != nil || q.flightCovers(p)
}
