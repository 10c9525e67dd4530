package mirror

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// A write through one name of a hard-linked file is reported under
// whichever name the filesystem knows the inode by. The receiver's other
// names must follow: the file is updated in place, not replaced.
func TestEngineHardLinkWrittenThroughOtherName(t *testing.T) {
	h, dm := linkedPair(t)
	compareTrees(t, h.src, dm.module, nil)

	// Written through b, reported as a (the name the inode was first seen by).
	if err := os.WriteFile(h.abs("b"), []byte("second, longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.add(change.Change{Op: change.OpWrite, Path: "a"})
	if _, err := h.sync(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, h.src, dm.module, nil)
}

// linkedPair makes a and b, two names of one file, and ships them;
// the engine is left running.
func linkedPair(t *testing.T) (*harness, *daemon) {
	t.Helper()
	dm := startDaemon(t)
	pw := passwordFile(t, daemonPass)
	h := newHarness(t, dm.dest(), dm.module, true, func(c *Config) { c.PasswordFile = pw })
	h.write("a", "first")
	if err := os.Link(h.abs("a"), h.abs("b")); err != nil {
		t.Fatal(err)
	}
	h.add(change.Change{Op: change.OpLink, Path: "b", From: "a"})
	h.mustSync()
	return h, dm
}

func TestNewName(t *testing.T) {
	for _, tc := range []struct {
		ops  change.Kinds
		want bool
	}{
		{change.Of(change.Modify), false},
		{change.Of(change.CloseWrite), false},
		{change.Of(change.Attrib, change.Modify, change.CloseWrite), false},
		{change.Of(change.Attrib, change.IsDir), false},
		{change.Of(change.Create), true},
		{change.Of(change.MovedTo, change.Modify), true},
		{change.Of(change.MovedFrom, change.MovedTo), true},
		{change.Of(change.Delete, change.Create), true},
		{change.Of(change.MovedFrom), true},
		{0, true}, // no history (journal snapshot): assume the worst
	} {
		if got := newName(&entry{ops: tc.ops}); got != tc.want {
			t.Errorf("newName(ops %v) = %v, want %v", tc.ops, got, tc.want)
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
	lp := linkPlan{
		stat: func(p string) (fileID, uint64, bool, bool) {
			f, ok := fs[p]
			return fileID{ino: f.id}, f.nlink, !f.link, ok
		},
		others: func(id fileID) []string {
			var out []string
			for _, n := range sortedKeys(fs) {
				if fs[n].id == id.ino {
					out = append(out, n)
				}
			}
			return out
		},
	}
	mod, cre, ren := change.Of(change.Modify), change.Of(change.Create), change.Of(change.MovedTo)
	for _, tc := range []struct {
		name           string
		entries        map[string]change.Kinds
		plain, inplace []string
	}{
		{name: "writes through old names go in place",
			entries: map[string]change.Kinds{"x": mod, "p": mod, "s": mod},
			plain:   []string{"s"}, inplace: []string{"p", "x"}},
		{name: "a first link ships with its partner",
			entries: map[string]change.Kinds{"p": change.Of(change.Attrib), "q": cre},
			plain:   []string{"p", "q"}},
		{name: "a renamed name pulls in the other names",
			entries: map[string]change.Kinds{"y": ren, "s": cre},
			plain:   []string{"s", "y", "x", "z"}},
		{name: "a new name never goes in place",
			entries: map[string]change.Kinds{"x": mod, "z": cre},
			plain:   []string{"x", "z", "y"}},
		{name: "a linked symlink is never old",
			entries: map[string]change.Kinds{"l": change.Of(change.Attrib)},
			plain:   []string{"l", "m"}},
		{name: "all names listed: nothing pulled",
			entries: map[string]change.Kinds{"x": mod, "y": ren, "z": cre},
			plain:   []string{"x", "y", "z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r run
			for _, p := range sortedKeys(tc.entries) {
				r.entries = append(r.entries, &entry{path: p, ops: tc.entries[p]})
				r.list = append(r.list, p)
			}
			plain, inplace := splitLinked(r, lp)
			if !slices.Equal(plain.list, tc.plain) || !slices.Equal(inplace.list, tc.inplace) {
				t.Errorf("plain %q, in place %q; want %q, %q", plain.list, inplace.list, tc.plain, tc.inplace)
			}
			if len(inplace.list) > 0 && !inplace.inplace {
				t.Error("in-place run not marked")
			}
			for p, e := range plain.pulled {
				if !slices.Contains(plain.entries, e) || slices.ContainsFunc(plain.entries, func(x *entry) bool { return x.path == p }) {
					t.Errorf("pulled %q answers to %q, which the run does not hold, or is an entry itself", p, e.path)
				}
			}
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestPullLinked(t *testing.T) {
	ids := map[string]uint64{"in/sub/f": 1, "out/f": 1, "both/g": 2, "both/g2": 2, "in/sl": 3, "out/sl": 3}
	x := newLinkIndex()
	for p, id := range ids {
		x.add(fileID{ino: id}, p)
	}
	lp := linkPlan{others: func(id fileID) []string { return slices.Sorted(slices.Values(x.names(id))) }}
	for _, tc := range []struct {
		roots []string
		want  []string // the names pulled in
	}{
		{[]string{"both"}, nil},
		{[]string{"in/sub"}, []string{"out/f"}},
		{[]string{"in"}, []string{"out/f", "out/sl"}},
		{[]string{"in", "out"}, nil},
		{[]string{"."}, nil},
		{[]string{"gone"}, nil},
	} {
		r := &run{recursive: true}
		for _, p := range tc.roots {
			r.entries = append(r.entries, &entry{path: p})
			r.list = append(r.list, p)
		}
		pullLinked(r, lp, x.below)
		got := slices.Sorted(maps.Keys(r.pulled))
		if !slices.Equal(got, tc.want) {
			t.Errorf("pullLinked(%q) pulled %q, want %q", tc.roots, got, tc.want)
		}
		if rest := slices.Sorted(slices.Values(r.list[len(tc.roots):])); !slices.Equal(rest, got) && len(got) > 0 {
			t.Errorf("pullLinked(%q): list %q does not end with the pulled names", tc.roots, r.list)
		}
	}
}

func TestFailLinked(t *testing.T) {
	a, b, c, d := &entry{path: "a"}, &entry{path: "b"}, &entry{path: "c"}, &entry{path: "d"}
	r := &run{entries: []*entry{a, b, c, d}}
	one, two := fileID{ino: 1}, fileID{ino: 2}
	r.markLinked(a, one)
	r.markLinked(b, one)
	r.markLinked(c, two)
	failed := map[*entry]string{}
	failLinked(r, failed)
	if len(failed) != 0 {
		t.Fatalf("no problem, yet failed %v", failed)
	}
	// a was sent as its group's leader and could not be opened; b, of the
	// same inode, was left alone by rsync without a word. c is another
	// inode, d no linked file: neither is to blame.
	failed[a] = "own error"
	failLinked(r, failed)
	if failed[a] != "own error" || !strings.Contains(failed[b], "another name of this file failed") || failed[c] != "" || failed[d] != "" {
		t.Errorf("failed %v: want a's own error kept, b failed with it, c and d untouched", failed)
	}
}

// A renamed name of a multi-linked file ships with the inode's other
// names, so the destination keeps one group, with no whole-tree run.
func TestEngineHardLinkRenamedName(t *testing.T) {
	h, dm := linkedPair(t)
	full := h.eng.Status().Reconcile.Count
	h.rename("b", "c")
	h.mustSync()
	compareTrees(t, h.src, dm.module, nil)
	if st := h.eng.Status(); st.Reconcile.Count != full || st.LinkedNames != 2 {
		t.Errorf("reconcile status %+v, linked names %d: want no full sync, 2 names", st.Reconcile, st.LinkedNames)
	}
}

// Names linked before the engine started are found by the start-up walk.
func TestEngineHardLinkFromBeforeStart(t *testing.T) {
	dm := startDaemon(t)
	pw := passwordFile(t, daemonPass)
	src := t.TempDir()
	mustWrite(t, filepath.Join(src, "x"), "shared")
	if err := os.MkdirAll(filepath.Join(src, "d/e"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(src, "x"), filepath.Join(src, "d/e/y")); err != nil {
		t.Fatal(err)
	}
	h := newHarnessAt(t, src, dm.dest(), dm.module, true, func(c *Config) { c.PasswordFile, c.InitialSync = pw, true })
	h.mustSync()
	if st := h.eng.Status(); st.LinkedNames != 2 {
		t.Fatalf("linked names after the walk: %d, want 2", st.LinkedNames)
	}
	full := h.eng.Status().Reconcile.Count
	h.rename("x", "z")
	h.mustSync()
	compareTrees(t, h.src, dm.module, nil)
	if st := h.eng.Status(); st.Reconcile.Count != full {
		t.Errorf("a rename of a name linked before the start cost a full sync: %+v", st.Reconcile)
	}
}

// A change to a linked file made while the start-up walk still runs waits
// for it, and then ships with all the names of its inode; a plain change
// does not wait.
func TestEngineLinkedWaitsForTheIndex(t *testing.T) {
	old := walkGrace
	walkGrace = 0
	t.Cleanup(func() { walkGrace = old })
	dm := startDaemon(t)
	pw := passwordFile(t, daemonPass)
	src := t.TempDir()
	for d := range 100 {
		dir := filepath.Join(src, fmt.Sprintf("d%02d", d))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range 100 {
			mustWrite(t, filepath.Join(dir, fmt.Sprintf("f%03d", f)), "x")
		}
	}
	if err := os.Link(filepath.Join(src, "d00/f000"), filepath.Join(src, "d99/link")); err != nil {
		t.Fatal(err)
	}
	if out, err := command("cp", "-a", src+"/.", dm.module+"/"); err != nil {
		t.Fatalf("seeding the module: %v %s", err, out)
	}
	h := newHarnessAt(t, src, dm.dest(), dm.module, true, func(c *Config) { c.PasswordFile = pw })
	h.rename("d99/link", "d50/moved")
	h.write("plain", "not linked")
	h.mustSync()
	compareTrees(t, h.src, dm.module, nil)
	if st := h.eng.Status(); !st.LinkIndexReady || st.Reconcile.Count != 0 {
		t.Errorf("status %+v: want the index ready and no full sync", st)
	}
	if strings.Contains(h.logs.String(), "waiting for the hard-link index") {
		t.Log("the rename waited for the walk")
	} else {
		t.Log("the walk was done before the first batch")
	}
}

// A change made through one name of a hard-linked file must reach the
// other names even when that name goes away before its batch: the write
// and chmod are the inode's, but the queue held them under the name that
// left. Found by TestFaultRandomOpsWithCrash (mode and mtime of the
// remaining names stale in the module).
func TestEngineHardLinkChangedNameLeaves(t *testing.T) {
	for _, tc := range []struct {
		name  string
		leave func(h *harness)
	}{
		{"unlinked", func(h *harness) {
			if err := os.Remove(h.abs("b")); err != nil {
				t.Fatal(err)
			}
			h.add(removed("b", false))
		}},
		{"replaced by a rename", func(h *harness) {
			h.write("c", "another file")
			h.rename("c", "b")
		}},
		{"renamed away", func(h *harness) { h.rename("b", "c") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, dm := linkedPair(t)
			h.stop()

			// Not running: the changes wait in the queue while b leaves.
			if err := os.WriteFile(h.abs("b"), []byte("second, longer"), 0o644); err != nil {
				t.Fatal(err)
			}
			h.add(change.Change{Op: change.OpWrite, Path: "b"})
			if err := os.Chmod(h.abs("b"), 0o640); err != nil {
				t.Fatal(err)
			}
			h.add(change.Change{Op: change.OpSetattr, Path: "b"})
			tc.leave(h)
			h.start()
			h.mustSync()
			compareTrees(t, h.src, dm.module, nil)
		})
	}
}

func TestMovedDuringRun(t *testing.T) {
	// As planned: x, y share inode 1; p, q inode 2; s is inode 3.
	planned := map[string]uint64{"x": 1, "y": 1, "p": 2, "q": 2, "s": 3}
	for _, tc := range []struct {
		name string
		now  map[string]uint64 // inode at each name after the run; absent: gone
		want []string
	}{
		{"nothing moved", map[string]uint64{"x": 1, "y": 1, "p": 2, "q": 2, "s": 3}, nil},
		{"a name replaced: its group ships again", map[string]uint64{"x": 9, "y": 1, "p": 2, "q": 2, "s": 3}, []string{"x", "y"}},
		{"a name unlinked", map[string]uint64{"x": 1, "y": 1, "q": 2, "s": 3}, []string{"p", "q"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run{inplace: true}
			for _, p := range sortedKeys(planned) {
				en := &entry{path: p}
				r.entries = append(r.entries, en)
				r.list = append(r.list, p)
				r.markLinked(en, fileID{ino: planned[p]})
			}
			stat := func(p string) (fileID, uint64, bool, bool) {
				ino, ok := tc.now[p]
				return fileID{ino: ino}, 2, true, ok
			}
			var got []string
			for _, en := range movedDuringRun(&r, stat) {
				got = append(got, en.path)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("moved = %v, want %v", got, tc.want)
			}
		})
	}
}

// An application writes through a descriptor whose name was unlinked; the
// file's other name was never looked up through the mount, so the write
// comes by inode (change.Orphan) and must reach that name.
func TestEngineOrphanWrite(t *testing.T) {
	h, dm := linkedPair(t)
	f, err := os.OpenFile(h.abs("b"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(h.abs("b")); err != nil {
		t.Fatal(err)
	}
	h.add(change.Change{Op: change.OpUnlink, Path: "b", Open: true})
	h.mustSync()
	if _, err := f.WriteAt([]byte("written after the unlink"), 0); err != nil {
		t.Fatal(err)
	}
	h.add(change.Change{Op: change.OpWrite, Inode: change.Inode{Dev: st.Dev, Ino: st.Ino}})
	h.mustSync()
	compareTrees(t, h.src, dm.module, nil)
	if n := h.eng.links.len(); n != 0 {
		t.Errorf("the link index keeps %d names after the last close", n)
	}
}
