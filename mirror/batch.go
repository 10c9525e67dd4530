package mirror

import (
	"sort"
	"strings"
)

// run is one rsync invocation of a batch.
type run struct {
	recursive bool
	root      bool                // the root's own attributes only (see planBatch)
	inplace   bool                // multi-linked files (see separateLinked)
	linked    map[*entry][]fileID // entries shipping names of multi-linked inodes (failLinked)
	pulled    map[string]*entry   // listed names of linked inodes that no entry holds, and the entry that pulled them in (hardlink.go)
	entries   []*entry            // listed entries (covered ones hang off them)
	list      []string            // what rsync reads on stdin: the entries' paths, then pulled names
}

// batch is what one scheduling round ships: all entries, in runs.
type batch struct {
	all   []*entry
	runs  []run
	epoch uint64
	seq   uint64 // the last event before the batch was taken: what it ships is at least that new
	stamp string // the versions directory of its runs (versions.go); "" without backup-dir
}

// planBatch drops entries that a recursive entry of the same batch ships
// anyway and splits the rest into a recursive run (first, so the
// non-recursive run fixes parent times last) and a non-recursive run. The
// root gets a run of its own, last, whenever it or a top-level name is in
// the batch: rsync's temp file and rename touch the receiver's root, and
// unlike other parents the root is not retouched as an implied directory.
// It cannot be listed with the others: rsync -d copies the contents of a
// directory named ".", i.e. every top-level entry.
func planBatch(entries []*entry) []run {
	sort.Slice(entries, func(i, j int) bool { return entries[i].path < entries[j].path })
	rec := make(map[string]*entry)
	for _, e := range entries {
		e.coveredBy = nil
		if e.recursive && e.path != "." {
			rec[e.path] = e
		}
	}
	var r, n, root run
	r.recursive = true
	root.root = true
	top := false
	for _, e := range entries {
		if c := coverOf(e.path, rec); c != nil {
			e.coveredBy = c
			continue
		}
		switch {
		case e.path == ".":
			root.entries = append(root.entries, e)
			continue
		case !strings.Contains(e.path, "/"):
			top = true
		}
		if e.recursive {
			r.entries = append(r.entries, e)
			r.list = append(r.list, e.path)
		} else {
			n.entries = append(n.entries, e)
			n.list = append(n.list, e.path)
		}
	}
	var runs []run
	if len(r.list) > 0 {
		runs = append(runs, r)
	}
	if len(n.list) > 0 {
		runs = append(runs, n)
	}
	if top || len(root.entries) > 0 {
		root.list = []string{"."}
		runs = append(runs, root)
	}
	return runs
}

// separateLinked moves regular files with more than one link out of the
// plain run into one shipped with --inplace. rsync otherwise replaces the
// file on the receiver with a new inode, and the receiver's other names for
// it keep the old content: a write is reported under one name of the inode,
// not under every name. In place, the receiver's shared inode changes for
// all its names. Only old names go in place (splitLinked): in place, a new
// name would write into whatever inode the receiver has under that name.
// Recursive runs list the outside names of the inodes inside them
// (pullLinked). The root run stays last.
func separateLinked(runs []run, lp linkPlan, below func(dir string) []linkName) []run {
	out := make([]run, 0, len(runs)+1)
	for _, r := range runs {
		switch {
		case r.root:
			out = append(out, r)
			continue
		case r.recursive:
			pullLinked(&r, lp, below)
			out = append(out, r)
			continue
		}
		plain, inplace := splitLinked(r, lp)
		for _, x := range []run{plain, inplace} {
			if len(x.list) > 0 {
				out = append(out, x)
			}
		}
	}
	return out
}

func coverOf(p string, rec map[string]*entry) *entry {
	for a := p; a != "."; {
		a = parent(a)
		if c := rec[a]; c != nil {
			return c
		}
	}
	return nil
}

// members returns the run's entries and those they cover.
func (b *batch) members(r *run) []*entry {
	in := make(map[*entry]bool, len(r.entries))
	for _, e := range r.entries {
		in[e] = true
	}
	var out []*entry
	for _, e := range b.all {
		if in[e] || (e.coveredBy != nil && in[e.coveredBy]) {
			out = append(out, e)
		}
	}
	return out
}

// split halves a run whose failure could not be pinned on a path.
func split(members []*entry) (a, b []*entry) {
	planBatch(members)
	var heads []*entry
	for _, e := range members {
		if e.coveredBy == nil {
			heads = append(heads, e)
		}
	}
	half := make(map[*entry]bool)
	for _, e := range heads[:len(heads)/2] {
		half[e] = true
	}
	for _, e := range members {
		h := e
		if e.coveredBy != nil {
			h = e.coveredBy
		}
		if half[h] {
			a = append(a, e)
		} else {
			b = append(b, e)
		}
	}
	return a, b
}

// allNew reports whether every entry of the run was created since it was
// last shipped: the destination has never had any of them.
func (r *run) allNew() bool {
	for _, e := range r.entries {
		if !e.born {
			return false
		}
	}
	return len(r.entries) > 0 && len(r.pulled) == 0
}
