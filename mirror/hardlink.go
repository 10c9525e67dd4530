package mirror

import (
	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// How runs keep hard-link groups whole on the destination (the names come
// from linkIndex):
//   - list runs: a new name of an inode (created, linked or renamed in)
//     ships in the plain run with every other name of the inode, so -H
//     links them. An inode whose listed names are all old (only written
//     or chmod'ed) ships in place: the destination's names already share
//     its inode, and updating it in place updates them all.
//   - recursive runs: every name outside the shipped subtrees of an inode
//     that has a name inside them is listed too.
// A name is listed only after fstatat shows it still is a name of that
// inode, so a stale index entry costs one system call.

// linkStat is what a batch needs to know about a listed path: its inode,
// link count and whether it is a regular file, when it is a non-directory
// with more than one name (symlinks and device nodes can be hard-linked
// too).
type linkStat func(p string) (id fileID, nlink uint64, reg, ok bool)

// newName reports whether e's name may not yet be, on the destination, a
// name of the inode it has in the source: something was created, linked
// or renamed to it, or it lost its history (a journal snapshot keeps no
// ops).
func newName(e *entry) bool {
	old := change.Of(change.Modify, change.CloseWrite, change.Attrib)
	ops := e.ops &^ change.Of(change.IsDir)
	return ops == 0 || ops&^old != 0
}

// linkPlan is how the planner reaches the source and the index.
type linkPlan struct {
	stat linkStat
	// others returns the names of id, besides those a run lists, that
	// still are names of id in the source.
	others func(id fileID) []string
}

// splitLinked divides one list run's entries: names of multi-linked
// regular files that are all old go to an in-place run (see
// separateLinked); the rest stay in the plain run with every other name
// of their inode. Other linked objects have no content to update in
// place and count as new: rsync may re-create them.
func splitLinked(r run, lp linkPlan) (plain, inplace run) {
	type group struct {
		fresh bool
		first *entry
	}
	ids := make([]fileID, len(r.entries))
	linked := make([]bool, len(r.entries))
	groups := make(map[fileID]*group)
	var order []fileID
	for i, e := range r.entries {
		id, _, reg, ok := lp.stat(e.path)
		if !ok {
			continue
		}
		ids[i], linked[i] = id, true
		g := groups[id]
		if g == nil {
			g = &group{first: e}
			groups[id] = g
			order = append(order, id)
		}
		g.fresh = g.fresh || !reg || newName(e) || e.relink
	}
	plain, inplace = run{}, run{inplace: true}
	listed := make(map[string]bool, len(r.list))
	for i, e := range r.entries {
		dst := &plain
		if linked[i] {
			if !groups[ids[i]].fresh {
				dst = &inplace
			}
			dst.markLinked(e, ids[i])
		}
		dst.entries = append(dst.entries, e)
		dst.list = append(dst.list, r.list[i])
		listed[r.list[i]] = true
	}
	for _, id := range order {
		if g := groups[id]; g.fresh {
			plain.pullNames(g.first, id, lp.others(id), listed)
		}
	}
	return plain, inplace
}

// pullLinked lists, in a recursive run, the names outside its subtrees of
// the inodes that have names inside them.
func pullLinked(r *run, lp linkPlan, below func(dir string) []linkName) {
	listed := make(map[string]bool, len(r.list))
	for _, p := range r.list {
		listed[p] = true
	}
	inside := func(p string) bool {
		for _, e := range r.entries {
			if e.path == p || isBelow(p, e.path) {
				return true
			}
		}
		return false
	}
	seen := make(map[fileID]bool)
	for _, e := range r.entries {
		for _, ln := range below(e.path) {
			if seen[ln.id] {
				continue
			}
			seen[ln.id] = true
			r.markLinked(e, ln.id)
			var out []string
			for _, p := range lp.others(ln.id) {
				if !inside(p) {
					out = append(out, p)
				}
			}
			r.pullNames(e, ln.id, out, listed)
		}
	}
}

// pullNames lists names of id for entry e, which answers for them.
func (r *run) pullNames(e *entry, id fileID, names []string, listed map[string]bool) {
	for _, p := range names {
		if listed[p] {
			continue
		}
		listed[p] = true
		r.list = append(r.list, p)
		if r.pulled == nil {
			r.pulled = make(map[string]*entry)
		}
		r.pulled[p] = e
		r.markLinked(e, id)
	}
}

// markLinked notes that e ships a name of the multi-linked inode id.
func (r *run) markLinked(e *entry, id fileID) {
	if r.linked == nil {
		r.linked = make(map[*entry][]fileID)
	}
	for _, have := range r.linked[e] {
		if have == id {
			return
		}
	}
	r.linked[e] = append(r.linked[e], id)
}

// statLinked is the engine's linkStat, on the source directory.
func (e *Engine) statLinked(p string) (id fileID, nlink uint64, reg, ok bool) {
	if e.cfg.Source == nil {
		return fileID{}, 0, false, false
	}
	var st unix.Stat_t
	if unix.Fstatat(int(e.cfg.Source.Fd()), p, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return fileID{}, 0, false, false
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR || st.Nlink < 2 {
		return fileID{}, 0, false, false
	}
	return fileID{st.Dev, st.Ino}, uint64(st.Nlink), st.Mode&unix.S_IFMT == unix.S_IFREG, true
}

// exists reports whether p is a name in the source.
func (e *Engine) exists(p string) bool {
	if e.cfg.Source == nil {
		return false
	}
	var st unix.Stat_t
	return unix.Fstatat(int(e.cfg.Source.Fd()), p, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

// failLinked fails the other entries of a run that ship names of the same
// inode as a failed entry. rsync -H sends a link group's data through one
// of its names: if that one cannot be read (deleted, or swapped for a
// symlink, under rsync), the others are left as they were with no error
// of their own. Entries of other inodes are not affected.
func failLinked(r *run, failed map[*entry]string) {
	if len(r.linked) == 0 || len(failed) == 0 {
		return
	}
	bad := make(map[fileID]string)
	for m, msg := range failed {
		for _, id := range r.linked[m] {
			if _, ok := bad[id]; !ok {
				bad[id] = msg
			}
		}
	}
	if len(bad) == 0 {
		return
	}
	for m, ids := range r.linked {
		if _, ok := failed[m]; ok {
			continue
		}
		for _, id := range ids {
			if msg, ok := bad[id]; ok {
				failed[m] = "not transferred: rsync sends hard-linked names together, and another name of this file failed: " + msg
				break
			}
		}
	}
}
