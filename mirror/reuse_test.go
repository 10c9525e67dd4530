package mirror

import (
	"crypto/rand"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

const (
	seedFiles    = 20
	seedFileSize = 100_000
)

// fillDir makes dir with seedFiles random files, a subdirectory, a hard
// link pair and assorted modes and times, all reported as events.
func fillDir(t *testing.T, h *harness, dir string) {
	t.Helper()
	h.mkdir(dir)
	h.mkdir(dir + "/sub")
	buf := make([]byte, seedFileSize)
	for i := range seedFiles {
		rand.Read(buf)
		p := dir + "/f" + strconv.Itoa(i)
		if i%4 == 0 {
			p = dir + "/sub/f" + strconv.Itoa(i)
		}
		h.write(p, string(buf))
		if i%3 == 0 {
			if err := os.Chmod(h.abs(p), 0o640); err != nil {
				t.Fatal(err)
			}
		}
		old := time.Now().Add(-time.Duration(i+1) * time.Hour)
		if err := os.Chtimes(h.abs(p), old, old); err != nil {
			t.Fatal(err)
		}
		h.add(change.Change{Op: change.OpSetattr, Path: p})
	}
	if err := os.Link(h.abs(dir+"/f1"), h.abs(dir+"/sub/link")); err != nil {
		t.Fatal(err)
	}
	h.add(change.Change{Op: change.OpCreate, Path: dir + "/sub/link"})
}

// seedHarness ships only on Sync, so a test's changes form one batch.
func seedHarness(t *testing.T) (*harness, *daemon) {
	dm := startDaemon(t)
	pw := passwordFile(t, daemonPass)
	h := newHarness(t, dm.dest(), dm.module, true, func(c *Config) {
		c.PasswordFile = pw
		c.Delay, c.MaxDelay = time.Hour, time.Hour
	})
	return h, dm
}

func TestRenamePreseedsFromOldCopy(t *testing.T) {
	for _, tc := range []struct{ name, to string }{
		{"same directory", "b"},
		{"into another directory", "other/deeper/b"},
		{"space and leading dash", "other/-b c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, dm := seedHarness(t)
			h.mkdir("other")
			h.mkdir("other/deeper")
			fillDir(t, h, "a")
			h.mustSync()
			compareTrees(t, h.src, dm.module, nil)

			before := h.eng.Status().Totals.BytesSent
			h.rename("a", tc.to)
			h.mustSync()
			sent := h.eng.Status().Totals.BytesSent - before
			compareTrees(t, h.src, dm.module, nil)
			if !contains(h.logs.String(), "rename pre-seeded") {
				t.Errorf("no pre-seed run")
			}
			if limit := int64(seedFiles * seedFileSize / 100); sent >= limit {
				t.Errorf("rename sent %d bytes, want < %d (1%% of the data)", sent, limit)
			}
			t.Logf("bytes sent for the rename: %d", sent)
		})
	}
}

// rewrite replaces p's content, keeping its size and modification time:
// rsync's quick check alone would take the old copy for it.
func rewrite(t *testing.T, h *harness, p string) {
	t.Helper()
	st, err := os.Stat(h.abs(p))
	if err != nil {
		t.Fatal(err)
	}
	h.write(p, strings.Repeat("x", int(st.Size())))
	if err := os.Chtimes(h.abs(p), st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	h.add(change.Change{Op: change.OpSetattr, Path: p})
}

// Files changed inside the directory in the same batch, before or after
// the rename, still ship their new content, even with the old size and time.
func TestRenamePreseedThenModify(t *testing.T) {
	h, dm := seedHarness(t)
	fillDir(t, h, "a")
	h.write("elsewhere", strings.Repeat("e", seedFileSize))
	h.mustSync()
	rewrite(t, h, "a/f3")
	h.rename("a", "b")
	rewrite(t, h, "b/f2")
	h.write("b/new", "new")
	h.rename("elsewhere", "b/f5") // replaces a file
	h.mustSync()
	compareTrees(t, h.src, dm.module, nil)
	if !contains(h.logs.String(), "rename pre-seeded") {
		t.Errorf("no pre-seed run")
	}
}

// An old path recreated before the batch ships: no pre-seed, same result.
func TestRenameOldPathRecreated(t *testing.T) {
	h, dm := seedHarness(t)
	fillDir(t, h, "a")
	h.mustSync()
	h.rename("a", "b")
	h.mkdir("a")
	h.write("a/f1", "recreated")
	h.mustSync()
	compareTrees(t, h.src, dm.module, nil)
	if contains(h.logs.String(), "rename pre-seeded") {
		t.Errorf("pre-seeded although the old path exists again")
	}
}

func TestRenameRecords(t *testing.T) {
	mk := func(op change.Op, p, from string) change.Change {
		return change.Change{Op: op, Path: p, From: from, Dir: true}
	}
	for _, tc := range []struct {
		name    string
		events  []change.Change
		want    string // the recorded old path of "b", "" for none
		changed string // its changed names, comma-separated
	}{
		{"plain rename", []change.Change{mk(change.OpRename, "b", "a")}, "a", ""},
		{"change inside the new dir", []change.Change{mk(change.OpRename, "b", "a"), mk(change.OpWrite, "b/f", ""), mk(change.OpRename, "b/g", "b/h")}, "a", "f,g,h"},
		{"pending change inside the old dir", []change.Change{{Op: change.OpWrite, Path: "a/x/f"}, mk(change.OpRename, "b", "a")}, "a", "x/f"},
		{"old dir itself pending", []change.Change{{Op: change.OpSetattr, Path: "a"}, mk(change.OpRename, "b", "a")}, "", ""},
		{"old path recreated", []change.Change{mk(change.OpRename, "b", "a"), mk(change.OpCreate, "a", "")}, "", ""},
		{"something renamed onto the old path", []change.Change{mk(change.OpRename, "b", "a"), mk(change.OpRename, "a", "c")}, "", ""},
		{"inside the old path", []change.Change{mk(change.OpRename, "b", "a"), mk(change.OpCreate, "a/x", "")}, "", ""},
		{"new dir renamed away", []change.Change{mk(change.OpRename, "b", "a"), mk(change.OpRename, "c", "b")}, "", ""},
		{"second rename onto the new name", []change.Change{mk(change.OpRename, "b", "a"), mk(change.OpRename, "b", "c")}, "", ""},
		{"old path was never shipped", []change.Change{mk(change.OpCreate, "a", ""), mk(change.OpRename, "b", "a")}, "", ""},
		{"new name had a pending change", []change.Change{mk(change.OpRmdir, "b", ""), mk(change.OpRename, "b", "a")}, "", ""},
		{"file rename", []change.Change{{Op: change.OpRename, Path: "b", From: "a"}}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newQueue()
			for i, ev := range tc.events {
				q.add(ev, uint64(i+1), time.Now())
			}
			got, changed := "", []string(nil)
			if e := q.get("b"); e != nil && q.renamed[e] != nil {
				got, changed = q.renamed[e].from, q.renamed[e].changed
			}
			if got != tc.want || strings.Join(changed, ",") != tc.changed {
				t.Errorf("recorded %q changed %q, want %q changed %q", got, changed, tc.want, tc.changed)
			}
		})
	}
}

func TestCopyDestPath(t *testing.T) {
	for _, tc := range []struct{ to, from, want string }{
		{"b", "a", "../a"},
		{"x/y/b", "a/c", "../../../a/c"},
		{"-b c", "-a", "../-a"},
	} {
		if got := copyDestPath(tc.to, tc.from); got != tc.want {
			t.Errorf("copyDestPath(%q, %q) = %q, want %q", tc.to, tc.from, got, tc.want)
		}
	}
}

// A daemon that refuses --copy-dest costs the pre-seed, not the rename.
func TestRenamePreseedRefused(t *testing.T) {
	h, dm := seedHarness(t)
	fillDir(t, h, "a")
	h.mustSync()
	// The daemon reads its configuration again for every connection.
	f, err := os.OpenFile(dm.conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("refuse options = copy-dest\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	h.rename("a", "b")
	h.mustSync()
	compareTrees(t, h.src, dm.module, nil)
	if !contains(h.logs.String(), "rename pre-seed failed") {
		t.Errorf("the refused pre-seed was not noticed")
	}
	if st := h.eng.Status(); st.ConsecutiveFailures != 0 || st.Totals.Failures != 0 {
		t.Errorf("a refused pre-seed counted as a failure: %+v", st.Totals)
	}
}

// A destination inside the module: the old copy is reached without
// leaving it.
func TestRenamePreseedBelowModule(t *testing.T) {
	dm := startDaemon(t)
	pw := passwordFile(t, daemonPass)
	if err := os.MkdirAll(dm.module+"/in/side", 0o755); err != nil {
		t.Fatal(err)
	}
	d := dm.dest()
	d.Path = "in/side"
	h := newHarness(t, d, dm.module+"/in/side", true, func(c *Config) {
		c.PasswordFile = pw
		c.Delay, c.MaxDelay = time.Hour, time.Hour
	})
	h.mkdir("x")
	fillDir(t, h, "x/a")
	h.mustSync()
	before := h.eng.Status().Totals.BytesSent
	h.rename("x/a", "b")
	h.mustSync()
	compareTrees(t, h.src, h.dst, nil)
	if sent := h.eng.Status().Totals.BytesSent - before; sent >= seedFiles*seedFileSize/100 {
		t.Errorf("rename sent %d bytes", sent)
	}
}
