package mirror

import (
	"sort"
	"strings"
)

// run is one rsync invocation of a batch.
type run struct {
	recursive bool
	entries   []*entry // listed entries (covered ones hang off them)
	list      []string // what rsync reads on stdin
}

// batch is what one scheduling round ships: all entries, in runs.
type batch struct {
	all   []*entry
	runs  []run
	epoch uint64
}

// planBatch drops entries that a recursive entry of the same batch ships
// anyway and splits the rest into a recursive run (first, so the
// non-recursive run fixes parent times last) and a non-recursive run. The
// root is listed whenever a top-level name is in the batch: rsync's temp
// file and rename touch the receiver's root, and unlike other parents the
// root is not retouched as an implied directory. Listing "." has rsync -d
// look at every entry of the root (quick check only).
func planBatch(entries []*entry) []run {
	sort.Slice(entries, func(i, j int) bool { return entries[i].path < entries[j].path })
	rec := make(map[string]*entry)
	for _, e := range entries {
		e.coveredBy = nil
		if e.recursive {
			rec[e.path] = e
		}
	}
	var r, n run
	r.recursive = true
	top, haveRoot := false, false
	for _, e := range entries {
		if c := coverOf(e.path, rec); c != nil {
			e.coveredBy = c
			continue
		}
		if e.path == "." {
			haveRoot = true
		} else if !strings.Contains(e.path, "/") {
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
	if top && !haveRoot {
		n.list = append([]string{"."}, n.list...)
	}
	var runs []run
	if len(r.list) > 0 {
		runs = append(runs, r)
	}
	if len(n.list) > 0 {
		runs = append(runs, n)
	}
	return runs
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
