package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// Names that break shell scripts, rsync argument parsing (host:path, a
// leading dash, wildcards) or newline-separated file lists.
var oddNames = append([]string{
	"colon:name",
	"user@host:path",
	"glob*?[x]",
	"tab\tname",
	"carriage\rreturn",
	".hidden",
	"...",
	"~tilde",
	"trailing space ",
	"quote'\"",
	"percent%s%n",
}, testkit.OddNames...)

func TestOddNames(t *testing.T) { runOddNames(t, daemonDest) }

// runOddNames creates, renames and deletes the odd names through a mount
// on the destination setup.
func runOddNames(t *testing.T, setup destSetup) {
	requireE2E(t)
	m := mountMirror(t, setup(t, testkit.DaemonOptions{}))
	r := m.Mnt
	must(t, os.Mkdir(filepath.Join(r, "dir with\nnewline"), 0o755))
	for i, n := range oddNames {
		write(t, filepath.Join(r, n), fmt.Sprintf("content %d", i))
		must(t, os.Mkdir(filepath.Join(r, "dir with\nnewline", n), 0o755))
		write(t, filepath.Join(r, "dir with\nnewline", n, n), "nested")
	}
	must(t, os.Symlink("-leading-dash", filepath.Join(r, "-link to dash")))
	m.assertMirrored(t, testkit.CompareOptions{})

	// Renames and deletes of odd names must address the right entries.
	must(t, os.Rename(filepath.Join(r, "new\nline"), filepath.Join(r, "new\nline renamed")))
	must(t, os.Remove(filepath.Join(r, "-leading-dash")))
	must(t, os.RemoveAll(filepath.Join(r, "dir with\nnewline", "not-utf8-\xff\xfe")))
	must(t, os.Rename(filepath.Join(r, "dir with\nnewline"), filepath.Join(r, "\xff renamed dir")))
	write(t, filepath.Join(r, strings.Repeat("é", 127)), "254 bytes of UTF-8")
	m.assertMirrored(t, testkit.CompareOptions{})
}

// TestLongPath builds a path longer than PATH_MAX through the mount. rsync
// cannot carry it: it must show up in status as stuck, stay off the module,
// and not hold back anything else.
func TestLongPath(t *testing.T) {
	m := mountMirror(t, mountOptions{})
	write(t, m.Mnt+"/before", "b")
	rel := testkit.MakeDeepPath(t, m.Mnt, 4500, []byte("deep leaf"))
	if ok, err := testkit.ExistsAt(m.Mnt, rel); !ok {
		t.Fatalf("deep path not readable back through the mount: %v", err)
	}
	write(t, m.Mnt+"/after", "a")
	must(t, os.Mkdir(m.Mnt+"/after-dir", 0o755))

	code, stderr := m.SyncCode(t, syncTimeout)
	if code != exitcode.Sync {
		t.Errorf("sync --wait with an unmirrorable path: exit %d, want 7 (sync incomplete); stderr: %s", code, stderr)
	}
	if !strings.HasPrefix(stderr, "mirrorfs: ") || !strings.Contains(stderr, "000-ddd") {
		t.Errorf("sync --wait stderr should start with \"mirrorfs: \" and name the stuck path, got: %q", stderr)
	}
	long := func(p string) bool { return len(p) >= 4096 }
	st := m.Status(t)
	stuck := st.stuck()
	found := false
	for _, s := range stuck {
		p, _ := s["path"].(string)
		if long(p) && strings.HasPrefix(rel, p) {
			found = true
		}
		if !long(p) {
			t.Errorf("status lists a short path as stuck: %q (%v)", p, s["error"])
		}
	}
	if !found {
		t.Errorf("status stuck does not list a prefix of the long path (%d bytes): %v", len(rel), st)
	}
	if ok, _ := testkit.ExistsAt(m.Daemon.Dir, rel); ok {
		t.Errorf("long path reached the module")
	}
	testkit.AssertTreesEqual(t, m.Mnt, m.Daemon.Dir, testkit.CompareOptions{Exclude: long})

	// Later changes keep flowing.
	write(t, m.Mnt+"/later", "l")
	must(t, os.Remove(m.Mnt+"/before"))
	if code, stderr := m.SyncCode(t, syncTimeout); code != exitcode.Sync {
		t.Errorf("second sync: exit %d, want 7: %s", code, stderr)
	}
	testkit.AssertTreesEqual(t, m.Mnt, m.Daemon.Dir, testkit.CompareOptions{Exclude: long})

	// Removing the deep tree clears the stuck entry.
	top := strings.SplitN(rel, "/", 2)[0]
	must(t, removeDeep(m.Mnt, top))
	m.assertMirrored(t, testkit.CompareOptions{})
	if s := m.Status(t).stuck(); len(s) != 0 {
		t.Errorf("stuck still listed after the deep tree was removed: %v", s)
	}
}

// removeDeep removes dir/name recursively through descriptors (os.Root),
// so depth beyond PATH_MAX is no problem.
func removeDeep(dir, name string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return root.RemoveAll(name)
}
