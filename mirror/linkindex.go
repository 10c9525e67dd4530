package mirror

import (
	"slices"

	"github.com/google/btree"
)

// rsync -H links only the names of an inode that one transfer carries. A
// name shipped without the others of its inode becomes a file of its own
// on the destination: the link group splits there. So the engine keeps
// every name of every multi-linked inode in the source (linkIndex), and a
// run that carries one name of a group carries all of them (planLinks).
//
// The index learns names from the changes made through the mount (link,
// rename, exchange, unlink) and, for names that existed before the mount,
// from one walk of the tree at start (linkwalk.go). Single-linked inodes
// never enter it. It can hold stale names (a walk racing with a change);
// the planner checks each name against the source before it lists it, so
// a stale name costs one fstatat, never a wrong transfer.

// fileID names an inode.
type fileID struct{ dev, ino uint64 }

type linkName struct {
	path string
	id   fileID
}

// linkIndex maps names to inodes and back. It is a pure data structure:
// the Engine serializes access to it.
type linkIndex struct {
	byName *btree.BTreeG[linkName]
	byID   map[fileID][]string
	// pinned: inodes still open for writing after losing a name
	// (linkleave.go). Their last name stays even when it is alone.
	pinned map[fileID]struct{}
}

// maxPinned bounds the pinned inodes: one per file held open for writing
// after an unlink of one of its names, so a handful in practice.
const maxPinned = 4096

func newLinkIndex() *linkIndex {
	return &linkIndex{
		byName: btree.NewG(32, func(a, b linkName) bool { return a.path < b.path }),
		byID:   make(map[fileID][]string),
		pinned: make(map[fileID]struct{}),
	}
}

// pin keeps id's names in the index even once one is left; false when
// too many are pinned.
func (x *linkIndex) pin(id fileID) bool {
	if _, ok := x.pinned[id]; !ok && len(x.pinned) >= maxPinned {
		return false
	}
	x.pinned[id] = struct{}{}
	return true
}

// unpin undoes pin, and drops id's name if it is alone.
func (x *linkIndex) unpin(id fileID) {
	if _, ok := x.pinned[id]; !ok {
		return
	}
	delete(x.pinned, id)
	if names := x.byID[id]; len(names) == 1 {
		x.byName.Delete(linkName{path: names[0]})
		delete(x.byID, id)
	}
}

func (x *linkIndex) len() int { return x.byName.Len() }

// add records p as a name of id.
func (x *linkIndex) add(id fileID, p string) {
	if old, ok := x.byName.Get(linkName{path: p}); ok {
		if old.id == id {
			return
		}
		x.dropID(old.id, p)
	}
	x.byName.ReplaceOrInsert(linkName{path: p, id: id})
	x.byID[id] = append(x.byID[id], p)
}

// link records a new hard link: to became a name of from's inode id.
func (x *linkIndex) link(id fileID, from, to string) {
	x.add(id, from)
	x.add(id, to)
}

// remove forgets p and every name below it (they were unlinked). A name
// left alone in its group goes too: its inode has no other name here.
func (x *linkIndex) remove(p string) {
	gone := x.take(p)
	for _, ln := range gone {
		if _, keep := x.pinned[ln.id]; keep {
			continue
		}
		if names := x.byID[ln.id]; len(names) == 1 {
			x.byName.Delete(linkName{path: names[0]})
			delete(x.byID, ln.id)
		}
	}
}

// rename moves the names at and below from to the same place under to,
// after forgetting what to replaced.
func (x *linkIndex) rename(from, to string) {
	moved := x.take(from)
	x.remove(to)
	for _, ln := range moved {
		x.add(ln.id, to+ln.path[len(from):])
	}
}

// exchange swaps the names at and below a and b (RENAME_EXCHANGE).
func (x *linkIndex) exchange(a, b string) {
	ma, mb := x.take(a), x.take(b)
	for _, ln := range ma {
		x.add(ln.id, b+ln.path[len(a):])
	}
	for _, ln := range mb {
		x.add(ln.id, a+ln.path[len(b):])
	}
}

// idOf returns the inode p is recorded as a name of.
func (x *linkIndex) idOf(p string) (fileID, bool) {
	ln, ok := x.byName.Get(linkName{path: p})
	return ln.id, ok
}

// names returns the recorded names of id.
func (x *linkIndex) names(id fileID) []string { return x.byID[id] }

// below returns the names strictly inside dir.
func (x *linkIndex) below(dir string) []linkName {
	var out []linkName
	visit := func(ln linkName) bool {
		out = append(out, ln)
		return true
	}
	if dir == "." {
		x.byName.Ascend(visit)
		return out
	}
	// Descendants of "d" are the keys in ["d/", "d0"): '0' follows '/'.
	x.byName.AscendRange(linkName{path: dir + "/"}, linkName{path: dir + "0"}, visit)
	return out
}

// take removes and returns the names at and below p.
func (x *linkIndex) take(p string) []linkName {
	var out []linkName
	if ln, ok := x.byName.Get(linkName{path: p}); ok {
		out = append(out, ln)
	}
	out = append(out, x.below(p)...)
	for _, ln := range out {
		x.byName.Delete(ln)
		x.dropID(ln.id, ln.path)
	}
	return out
}

func (x *linkIndex) dropID(id fileID, p string) {
	names := x.byID[id]
	if i := slices.Index(names, p); i >= 0 {
		names = slices.Delete(names, i, i+1)
	}
	if len(names) == 0 {
		delete(x.byID, id)
		return
	}
	x.byID[id] = names
}
