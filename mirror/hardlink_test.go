package mirror

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A write through one name of a hard-linked file is reported under
// whichever name the filesystem knows the inode by. The receiver's other
// names must follow: the file is updated in place, not replaced.
func TestEngineHardLinkWrittenThroughOtherName(t *testing.T) {
	dm := startDaemon(t)
	pw := passwordFile(t, daemonPass)
	h := newHarness(t, dm.dest(), dm.module, true, func(c *Config) { c.PasswordFile = pw })
	h.write("a", "first")
	if err := os.Link(h.abs("a"), h.abs("b")); err != nil {
		t.Fatal(err)
	}
	h.add(Event{Op: OpCreate, Path: "b"})
	h.add(Event{Op: OpAttrib, Path: "a"})
	h.mustSync()
	compareTrees(t, h.src, dm.module, nil)

	// Written through b, reported as a (the name the inode was first seen by).
	if err := os.WriteFile(h.abs("b"), []byte("second, longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.add(Event{Op: OpModify, Path: "a"})
	if _, err := h.sync(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, h.src, dm.module, nil)
}

func TestNewName(t *testing.T) {
	for _, tc := range []struct {
		ops  opSet
		want bool
	}{
		{1 << OpModify, false},
		{1<<OpAttrib | 1<<OpModify, false},
		{1<<OpAttrib | opSetDir, false},
		{1 << OpCreate, true},
		{1<<OpRename | 1<<OpModify, true},
		{1 << OpExchange, true},
		{1<<OpDelete | 1<<OpCreate, true},
		{1 << opMovedFrom, true},
		{0, true}, // no history (journal snapshot): assume the worst
	} {
		if got := newName(&entry{ops: tc.ops}); got != tc.want {
			t.Errorf("newName(ops %v) = %v, want %v", tc.ops.list(), got, tc.want)
		}
	}
}

func TestSplitLinked(t *testing.T) {
	type file struct {
		id    uint64
		nlink uint64
		link  bool // a symlink
	}
	// x, y, z share inode 1 (3 names); p, q share inode 2 (2 names); s is
	// single; symlinks l, m share inode 3.
	fs := map[string]file{"x": {1, 3, false}, "y": {1, 3, false}, "z": {1, 3, false},
		"p": {2, 2, false}, "q": {2, 2, false}, "l": {3, 2, true}, "m": {3, 2, true}}
	stat := func(p string) (fileID, uint64, bool, bool) {
		f, ok := fs[p]
		return fileID{ino: f.id}, f.nlink, !f.link, ok
	}
	mod, cre, ren := opSet(1<<OpModify), opSet(1<<OpCreate), opSet(1<<OpRename)
	for _, tc := range []struct {
		name           string
		entries        map[string]opSet
		plain, inplace []string
		gap            string
	}{
		{name: "writes through old names go in place",
			entries: map[string]opSet{"x": mod, "p": mod, "s": mod},
			plain:   []string{"s"}, inplace: []string{"p", "x"}},
		{name: "a first link ships with its partner, no gap",
			entries: map[string]opSet{"p": 1 << OpAttrib, "q": cre},
			plain:   []string{"p", "q"}},
		{name: "a renamed name alone leaves a gap",
			entries: map[string]opSet{"y": ren, "s": cre},
			plain:   []string{"s", "y"}, gap: "y"},
		{name: "a new name never goes in place",
			entries: map[string]opSet{"x": mod, "z": cre},
			plain:   []string{"x", "z"}, gap: "x"},
		{name: "a linked symlink is never old",
			entries: map[string]opSet{"l": 1 << OpAttrib},
			plain:   []string{"l"}, gap: "l"},
		{name: "linked symlinks together",
			entries: map[string]opSet{"l": 1 << OpAttrib, "m": cre},
			plain:   []string{"l", "m"}},
		{name: "all names together: no gap",
			entries: map[string]opSet{"x": mod, "y": ren, "z": cre},
			plain:   []string{"x", "y", "z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r run
			for _, p := range sortedKeys(tc.entries) {
				r.entries = append(r.entries, &entry{path: p, ops: tc.entries[p]})
				r.list = append(r.list, p)
			}
			plain, inplace, gap := splitLinked(r, stat)
			if !slices.Equal(plain.list, tc.plain) || !slices.Equal(inplace.list, tc.inplace) || gap != tc.gap {
				t.Errorf("plain %q, in place %q, gap %q; want %q, %q, %q", plain.list, inplace.list, gap, tc.plain, tc.inplace, tc.gap)
			}
			if len(inplace.list) > 0 && !inplace.inplace {
				t.Error("in-place run not marked")
			}
		})
	}
}

func sortedKeys(m map[string]opSet) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestLinkGapBelow(t *testing.T) {
	src := t.TempDir()
	for _, d := range []string{"in/sub", "both", "out"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(src, "in/sub/f"), "f")
	mustWrite(t, filepath.Join(src, "both/g"), "g")
	mustWrite(t, filepath.Join(src, "single"), "s")
	if err := os.Symlink("target", filepath.Join(src, "in/sl")); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{"in/sub/f", "out/f"}, {"both/g", "both/g2"}, {"in/sl", "out/sl"}} {
		if err := os.Link(filepath.Join(src, l[0]), filepath.Join(src, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e := &Engine{cfg: Config{Source: f}}
	for _, tc := range []struct {
		roots []string
		want  string
	}{
		{[]string{"both"}, ""},
		{[]string{"in/sub"}, "in/sub/f"},
		{[]string{"in"}, "in/"}, // f or the symlink sl
		{[]string{"in", "out"}, ""},
		{[]string{"out/f"}, "out/f"}, // a file listed recursively (exchange)
		{[]string{"."}, ""},
		{[]string{"gone", "single"}, ""},
	} {
		r := &run{recursive: true}
		for _, p := range tc.roots {
			r.entries = append(r.entries, &entry{path: p})
		}
		got := e.linkGapBelow(r)
		if strings.HasSuffix(tc.want, "/") && strings.HasPrefix(got, tc.want) {
			continue
		}
		if got != tc.want {
			t.Errorf("linkGapBelow(%q) = %q, want %q", tc.roots, got, tc.want)
		}
	}
}

func TestFailLinked(t *testing.T) {
	a, b, c := &entry{path: "a"}, &entry{path: "b"}, &entry{path: "c"}
	r := &run{entries: []*entry{a, b, c}}
	r.markLinked(a)
	r.markLinked(b)
	e := &Engine{}
	failed := map[*entry]string{}
	e.failLinked(r, nil, failed)
	if len(failed) != 0 {
		t.Fatalf("no problem, yet failed %v", failed)
	}
	// a was sent as the group's leader, could not be opened; b was left
	// alone by rsync without a word.
	probs := []pathProblem{{line: `rsync: [sender] send_files failed to open "/proc/self/fd/3/a": Too many levels of symbolic links (40)`, candidates: []string{"a"}}}
	failed[a] = "own error"
	e.failLinked(r, probs, failed)
	if failed[a] != "own error" || !strings.Contains(failed[b], "another name failed") || failed[c] != "" {
		t.Errorf("failed %v: want a's own error kept, b failed with it, c untouched", failed)
	}
}

func TestLinkRepairCoalesces(t *testing.T) {
	e := &Engine{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	e.seq = 10
	e.needLinkRepair("a", linkWhyList, []*entry{{seq: 7}})
	e.needLinkRepair("b", linkWhyTree, []*entry{{seq: 9}})
	if e.full.reqGen != 1 || e.full.linkRepairs != 1 || len(e.full.links) != 1 || e.full.links[0].minSeq != 7 {
		t.Fatalf("two needs before a full sync started: %+v, want one repair from seq 7", e.full)
	}
	if e.linkBlocks(6) || !e.linkBlocks(7) {
		t.Error("a barrier below the first shipped change waits, or one above does not")
	}
	if got := e.linkReason(e.full.reqGen); got != linkWhyList+": a" {
		t.Errorf("reason %q", got)
	}
	// The repair starts; a need now must wait for the next one.
	e.full.running, e.full.startGen = true, e.full.reqGen
	e.seq = 20
	e.needLinkRepair("c", linkWhyList, []*entry{{seq: 15}})
	if e.full.reqGen != 2 || len(e.full.links) != 2 || e.full.linkRepairs != 2 {
		t.Fatalf("need while a repair runs: %+v, want a second repair", e.full)
	}
	e.full.running, e.full.doneGen = false, 1
	e.pruneLinks(false)
	if e.linkBlocks(14) || !e.linkBlocks(15) {
		t.Error("after the first repair: barrier up to 14 should pass, from 15 wait")
	}
	// A full sync asked for by someone else and not started yet is joined.
	e.full.startGen, e.full.doneGen = 2, 2
	e.pruneLinks(false)
	e.full.reqGen = 3
	e.needLinkRepair("d", linkWhyList, nil)
	if e.full.reqGen != 3 || e.full.links[0].gen != 3 {
		t.Errorf("pending full sync not joined: %+v", e.full)
	}
	// It fails on some path: asked for again, with the same barrier, a
	// bounded number of times.
	for i := range maxLinkRetries + 1 {
		e.full.startGen, e.full.doneGen = e.full.reqGen, e.full.reqGen
		e.pruneLinks(true)
		if want := i < maxLinkRetries; (len(e.full.links) == 1) != want || (want && !e.linkBlocks(20)) {
			t.Fatalf("after %d partial repairs: links %+v, want asked again: %v", i+1, e.full.links, want)
		}
	}
}

// A renamed name of a multi-linked file ships alone; the engine relinks
// it with a whole-tree reconcile, and Sync waits for it.
func TestEngineHardLinkRenamedName(t *testing.T) {
	dm := startDaemon(t)
	pw := passwordFile(t, daemonPass)
	h := newHarness(t, dm.dest(), dm.module, true, func(c *Config) { c.PasswordFile = pw })
	h.write("a", "shared")
	if err := os.Link(h.abs("a"), h.abs("b")); err != nil {
		t.Fatal(err)
	}
	h.add(Event{Op: OpCreate, Path: "b"})
	h.add(Event{Op: OpAttrib, Path: "a"})
	h.mustSync()
	if n := h.eng.Status().Reconcile.LinkRepairs; n != 0 {
		t.Errorf("a first link cost %d repairs, want 0", n)
	}
	h.rename("b", "c")
	h.mustSync()
	compareTrees(t, h.src, dm.module, nil)
	st := h.eng.Status()
	if st.Reconcile.LinkRepairs != 1 || st.Reconcile.Count != 1 || st.Reconcile.LinkRepair != "" {
		t.Errorf("reconcile status %+v, want one link repair, done", st.Reconcile)
	}
	if !contains(h.logs.String(), "hard-link group may be split") {
		t.Error("the repair was not logged")
	}
}
