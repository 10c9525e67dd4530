package mirror

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// rsync -H links only the names of an inode that one transfer carries.
// A name shipped without the others of its inode (a renamed name, a link
// into a new directory, a renamed directory holding a name linked from
// outside) becomes a file of its own on the destination: its link group
// splits. mirrorfs does not know every name of an inode, so it detects
// the runs that may have split a group and asks for a link repair: a
// whole-tree -H reconcile (reconcile.go), which relinks split names.
// Repairs coalesce: a burst of links costs one.
//
// Which runs may split a group (n = the inode's st_nlink, names = its
// names the run carries):
//   - list runs: an inode with a new name (created or renamed in, see
//     newName) and names < n. An inode whose listed names are all old is
//     safe: the destination's names already share its inode, and the
//     in-place run updates that inode.
//   - recursive runs: any non-directory in the shipped subtrees with
//     names < n. rsync may have re-created it; walking the subtree
//     (which rsync just read) is cheap, telling what rsync re-created
//     is not.

// fileID names an inode.
type fileID struct{ dev, ino uint64 }

// linkStat is what a batch needs to know about a listed path: its inode,
// link count and whether it is a regular file, when it is a non-directory
// with more than one name (symlinks and device nodes can be hard-linked
// too).
type linkStat func(p string) (id fileID, nlink uint64, reg, ok bool)

// newName reports whether e's name may not yet be, on the destination, a
// name of the inode it has in the source: something was created or
// renamed to it, or it lost its history (a journal snapshot keeps no ops).
func newName(e *entry) bool {
	const old = opSet(1<<OpModify | 1<<OpAttrib)
	ops := e.ops &^ opSetDir
	return ops == 0 || ops&^old != 0
}

// splitLinked divides one list run's entries: names of multi-linked
// regular files that are all old go to an in-place run (see
// separateLinked); the rest stay in the plain run, all names of an inode
// together, so -H links them. Other linked objects have no content to
// update in place and count as new: rsync may re-create them. gap is a
// path of an inode that the plain run carries with a new name but without
// all its names: shipping it may split the group.
func splitLinked(r run, stat linkStat) (plain, inplace run, gap string) {
	type group struct {
		nlink uint64
		names int
		fresh bool
		first string
	}
	ids := make([]fileID, len(r.entries))
	linked := make([]bool, len(r.entries))
	groups := make(map[fileID]*group)
	for i, e := range r.entries {
		id, n, reg, ok := stat(e.path)
		if !ok {
			continue
		}
		ids[i], linked[i] = id, true
		g := groups[id]
		if g == nil {
			g = &group{nlink: n, first: e.path}
			groups[id] = g
		}
		g.names++
		g.fresh = g.fresh || !reg || newName(e)
	}
	plain, inplace = run{}, run{inplace: true}
	for i, e := range r.entries {
		dst := &plain
		if linked[i] {
			g := groups[ids[i]]
			switch {
			case !g.fresh:
				dst = &inplace
			case uint64(g.names) < g.nlink && gap == "":
				gap = g.first
			}
			dst.markLinked(e)
		}
		dst.entries = append(dst.entries, e)
		dst.list = append(dst.list, r.list[i])
	}
	return plain, inplace, gap
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

// markLinked notes that e ships a multi-linked name (failLinked).
func (r *run) markLinked(e *entry) {
	if r.linked == nil {
		r.linked = make(map[*entry]bool)
	}
	r.linked[e] = true
}

// linkGapBelow walks the subtrees a recursive run shipped and returns a
// non-directory some of whose names lie outside all of them ("" if none).
// It marks the run's entries holding multi-linked names (failLinked).
// Paths that vanished meanwhile are skipped: their changes are queued.
func (e *Engine) linkGapBelow(r *run) string {
	if e.cfg.Source == nil {
		return ""
	}
	c := linkCounter{names: make(map[fileID]*linkCount)}
	src := int(e.cfg.Source.Fd())
	for _, m := range r.entries {
		p := m.path
		c.seen = false
		if p == "." {
			c.dir(src, ".", ".")
		} else {
			c.root(src, p)
		}
		if c.seen {
			r.markLinked(m)
		}
	}
	for _, n := range c.names {
		if uint64(n.names) < n.nlink {
			return n.first
		}
	}
	return ""
}

// root counts the names at and below p.
func (c *linkCounter) root(src int, p string) {
	var st unix.Stat_t
	if unix.Fstatat(src, p, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		c.file(p, &st)
		return
	}
	fd, err := unix.Openat2(src, p, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
	})
	if err == nil {
		c.walk(fd, p)
	}
}

type linkCount struct {
	nlink uint64
	names int
	first string
}

type linkCounter struct {
	names map[fileID]*linkCount
	seen  bool // a multi-linked name was counted (since reset)
}

func (c *linkCounter) file(p string, st *unix.Stat_t) {
	if st.Nlink < 2 {
		return
	}
	id := fileID{st.Dev, st.Ino}
	n := c.names[id]
	if n == nil {
		n = &linkCount{nlink: uint64(st.Nlink), first: p}
		c.names[id] = n
	}
	n.names++
	c.seen = true
}

// dir opens name below dirfd and walks it.
func (c *linkCounter) dir(dirfd int, name, rel string) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	c.walk(fd, rel)
}

// walk counts the names below the directory fd (which it closes), rel
// being its path.
func (c *linkCounter) walk(fd int, rel string) {
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	for _, name := range names {
		p := name
		if rel != "." {
			p = rel + "/" + name
		}
		var st unix.Stat_t
		if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			c.dir(fd, name, p)
		} else {
			c.file(p, &st)
		}
	}
}

// Why a link repair was asked for.
const (
	linkWhyList = "a new name of a hard-linked file was shipped without its other names"
	linkWhyTree = "a shipped directory holds a hard-linked file with names outside it"
)

// linkNeed is a link repair asked for: full sync generation gen relinks
// what the changes from minSeq on may have split.
type linkNeed struct {
	gen, minSeq uint64
	path, why   string
}

// needLinkRepair schedules a whole-tree -H reconcile for a run that may
// have split path's link group, joining one asked for and not started
// yet. Barriers for the run's changes wait for it. e.mu is held, by the
// same critical section that settles members.
func (e *Engine) needLinkRepair(path, why string, members []*entry) {
	minSeq := e.seq
	for _, m := range members {
		minSeq = min(minSeq, m.seq)
	}
	e.askLinkRepair(path, why, minSeq)
}

// askLinkRepair is needLinkRepair for changes from minSeq on.
func (e *Engine) askLinkRepair(path, why string, minSeq uint64) {
	f := &e.full
	if n := len(f.links); n > 0 && f.links[n-1].gen > f.startGen {
		f.links[n-1].minSeq = min(f.links[n-1].minSeq, minSeq)
		e.log.Debug("hard-link repair already scheduled", "path", path, "reason", why)
		return
	}
	if f.reqGen <= f.startGen {
		f.reqGen++
	}
	f.links = append(f.links, linkNeed{gen: f.reqGen, minSeq: minSeq, path: path, why: why})
	f.linkRepairs++
	e.log.Info("hard-link group may be split on the destination; a full sync will relink it",
		"path", path, "reason", why)
	e.poke()
}

// linkBlocks reports whether a link repair asked for by changes up to
// limit has not finished; e.mu is held.
func (e *Engine) linkBlocks(limit uint64) bool {
	for _, l := range e.full.links {
		if l.gen > e.full.doneGen && l.minSeq <= limit {
			return true
		}
	}
	return false
}

// linkReason describes the link repairs up to generation gen not done
// yet, "" if none; e.mu is held.
func (e *Engine) linkReason(gen uint64) string {
	for _, l := range e.full.links {
		if l.gen > e.full.doneGen && l.gen <= gen {
			return l.why + ": " + l.path
		}
	}
	return ""
}

const linkAgain = " (again: the last full sync failed on some paths)"

// maxLinkRetries bounds the link repairs asked for again in a row: a path
// that always fails must not keep full syncs running.
const maxLinkRetries = 3

// pruneLinks forgets the repairs a finished full sync did; e.mu is held.
// A full sync that failed on some paths (partial) may have left a group
// unlinked: rsync sends a group's data through one name, and when that
// one cannot be read the others are left as they were. Its repairs are
// asked for again, up to maxLinkRetries times in a row.
func (e *Engine) pruneLinks(partial bool) {
	keep := e.full.links[:0]
	var again *linkNeed
	for _, l := range e.full.links {
		switch {
		case l.gen > e.full.doneGen:
			keep = append(keep, l)
		case again == nil:
			again = &linkNeed{minSeq: l.minSeq, path: l.path, why: l.why}
		default:
			again.minSeq = min(again.minSeq, l.minSeq)
		}
	}
	e.full.links = keep
	switch {
	case again == nil:
	case !partial:
		e.full.linkRetries = 0
	case e.full.linkRetries < maxLinkRetries:
		e.full.linkRetries++
		e.askLinkRepair(again.path, strings.TrimSuffix(again.why, linkAgain)+linkAgain, again.minSeq)
	default:
		e.log.Warn("hard-link groups may stay split on the destination: full syncs keep failing on some paths; see the reconcile error in mirrorfs status",
			"path", again.path)
	}
}

// failLinked fails the run's multi-linked names when anything in it went
// wrong. rsync -H sends a link group's data through one of its names: if
// that one cannot be read (deleted, or swapped for a symlink, under
// rsync), the others are left as they were with no error of their own.
// They are retried, like the name that failed; e.mu is held.
func (e *Engine) failLinked(r *run, probs []pathProblem, failed map[*entry]string) {
	if len(r.linked) == 0 || len(probs) == 0 {
		return
	}
	msg := "not transferred: rsync sends hard-linked names together, and another name failed: " + afterRsyncPrefix(probs[0].line)
	for m := range r.linked {
		if _, ok := failed[m]; !ok {
			failed[m] = msg
		}
	}
}
