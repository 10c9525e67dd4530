package tests

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
)

// TestInotifyExclude: --exclude/--excludei keep matching paths off the
// module, whether they are created, renamed in or out, shipped inside a new
// directory or found by the initial full sync.
func TestInotifyExclude(t *testing.T) {
	write := func(t *testing.T, p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var module string
	m := mountMirror(t, mountOptions{
		Args: []string{"--exclude", `\.swp$`, "--excludei", `^tmp/`},
		Setup: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "keep.txt"), "keep")
			write(t, filepath.Join(dir, "old.swp"), "swap")
			write(t, filepath.Join(dir, "tmp/x"), "tmp")
			write(t, filepath.Join(dir, "d0/in.swp"), "swap")
		},
	})
	module = m.Daemon.Dir
	m.Sync(t)
	// Pre-existing excluded files reach the module neither at the initial sync...
	assertModule(t, module, []string{"keep.txt", "d0"}, []string{"old.swp", "tmp", "d0/in.swp"})

	// ...nor through the mount.
	d := m.Mnt
	write(t, filepath.Join(d, "a.swp"), "swap")
	write(t, filepath.Join(d, "TMP/y"), "case-insensitive")
	write(t, filepath.Join(d, "sub/b.swp"), "swap")
	write(t, filepath.Join(d, "sub/c.txt"), "c")
	// A new directory ships recursively: its excluded files must stay behind.
	write(t, filepath.Join(d, "e/z.swp"), "swap")
	write(t, filepath.Join(d, "e/ok.txt"), "ok")
	must(t, os.Rename(filepath.Join(d, "e"), filepath.Join(d, "e2")))
	must(t, os.Rename(filepath.Join(d, "old.swp"), filepath.Join(d, "recovered.txt"))) // out of the exclusion
	m.Sync(t)
	must(t, os.Rename(filepath.Join(d, "keep.txt"), filepath.Join(d, "keep.swp"))) // into it: gone from the module
	m.Sync(t)
	assertModule(t, module,
		[]string{"sub/c.txt", "e2/ok.txt", "recovered.txt"},
		[]string{"a.swp", "TMP", "sub/b.swp", "e", "e2/z.swp", "keep.txt", "keep.swp", "old.swp"})

	st := m.Status(t)
	if st.num("excluded_events") == 0 {
		t.Errorf("status reports no excluded events: %s", st)
	}
	if ex, _ := st["exclude"].([]any); len(ex) != 2 {
		t.Errorf("status exclude = %v, want both patterns", st["exclude"])
	}

	// A bad pattern is refused before mounting, naming the RE2 limit.
	_, errOut, code := runMirrorfs(t, m.env(), "mount", "--dest", m.Daemon.URL(), "--exclude", `(a)\1`, t.TempDir())
	if code != exitcode.Usage || !strings.Contains(errOut, "backreferences") {
		t.Errorf("mount with a backreference: exit %d, %s; want exit 2 naming backreferences", code, errOut)
	}
}

func assertModule(t *testing.T, module string, present, absent []string) {
	t.Helper()
	for _, p := range present {
		if _, err := os.Lstat(filepath.Join(module, p)); err != nil {
			t.Errorf("module lacks %s: %v", p, err)
		}
	}
	for _, p := range absent {
		if _, err := os.Lstat(filepath.Join(module, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("excluded %s reached the module (lstat: %v)", p, err)
		}
	}
}
