package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// heldCount is status.held.count.
func (s status) heldCount() int {
	h, _ := s["held"].(map[string]any)
	n, _ := h["count"].(float64)
	return int(n)
}

// TestHoldMassDelete: rm -rf of 5,000 files past hold-deletes=1000 is
// held: the module keeps them while a file made meanwhile ships, a
// sync --full and a restart keep the hold, and `release` ships them.
func TestHoldMassDelete(t *testing.T) {
	const files, limit = 5000, 1000
	state := stateDirArg(t)
	hold := []string{state, "--hold-deletes", fmt.Sprint(limit)}
	m := mountMirror(t, mountOptions{Args: hold, Setup: func(t *testing.T, dir string) {
		must(t, os.Mkdir(filepath.Join(dir, "d"), 0o755))
		for i := range files {
			write(t, filepath.Join(dir, "d", fmt.Sprintf("f%04d", i)), "data")
		}
	}})
	m.Sync(t)
	modD := filepath.Join(m.Daemon.Dir, "d")
	if n := testkit.Entries(t, modD); n != files {
		t.Fatalf("initial sync: module has %d of %d files", n, files)
	}

	must(t, os.RemoveAll(filepath.Join(m.Mnt, "d")))
	write(t, filepath.Join(m.Mnt, "new"), "made during the hold")
	m.Sync(t)
	st := m.Status(t)
	kept := testkit.Entries(t, modD)
	t.Logf("module keeps %d of %d deleted files; status holds %d", kept, files, st.heldCount())
	// At most the limit may have shipped before the hold began.
	if kept < files-limit || st.heldCount() != kept {
		t.Fatalf("module keeps %d files, status holds %d; want the same, at least %d: %s", kept, st.heldCount(), files-limit, st)
	}
	if _, err := os.Stat(filepath.Join(m.Daemon.Dir, "new")); err != nil {
		t.Fatalf("a file made during the hold did not ship: %v", err)
	}
	if text, _, _ := m.cli(t, "status", m.Mnt); !strings.Contains(text, "held deletes") {
		t.Errorf("status does not show the held deletes:\n%s", text)
	}
	if !strings.Contains(m.logText(), "mass delete") {
		t.Errorf("the log does not say deletes are held:\n%s", m.logText())
	}
	if strings.Count(m.logText(), "mass delete") != 1 {
		t.Errorf("want one log line per hold, not per file:\n%s", m.logText())
	}

	if _, errOut, code := m.cli(t, "sync", "--full", "--wait", m.Mnt); code != 0 {
		t.Fatalf("sync --full: exit %d: %s", code, errOut)
	}
	if n := testkit.Entries(t, modD); n != kept {
		t.Fatalf("sync --full removed held files: %d left of %d", n, kept)
	}

	if out, code := m.Unmount(t); code != 0 {
		t.Fatalf("unmount: exit %d: %s", code, out)
	}
	m.Wait(t)
	m2 := m.remount(t, hold...)
	m2.Sync(t)
	if got := m2.Status(t).heldCount(); got != kept {
		t.Fatalf("after a restart %d held, want %d", got, kept)
	}
	if n := testkit.Entries(t, modD); n != kept {
		t.Fatalf("after a restart (initial sync) the module keeps %d of %d held files", n, kept)
	}

	out, errOut, code := m2.cli(t, "release", "--json", m2.Mnt)
	if code != exitcode.OK {
		t.Fatalf("release: exit %d: %s", code, errOut)
	}
	var rel struct {
		Released int `json:"released"`
	}
	if err := json.Unmarshal([]byte(out), &rel); err != nil || rel.Released < kept {
		t.Fatalf("release printed %q (%v), want at least %d released", out, err, kept)
	}
	m2.Sync(t)
	if _, err := os.Stat(modD); !os.IsNotExist(err) {
		t.Fatalf("after release the module still has d (%d files): %v", testkit.Entries(t, modD), err)
	}
	if got := m2.Status(t).heldCount(); got != 0 {
		t.Fatalf("after release %d still held", got)
	}
	if _, err := os.Stat(filepath.Join(m2.Mnt, "new")); err != nil {
		t.Fatalf("release touched the data directory: %v", err)
	}
	// No backup-dir on this mount: versions says so, with the usage code.
	_, errOut, code = m2.cli(t, "versions", m2.Mnt, "new")
	if code != exitcode.Usage || !strings.Contains(errOut, "backup-dir") {
		t.Errorf("versions without backup-dir: exit %d, want %d: %s", code, exitcode.Usage, errOut)
	}
}
