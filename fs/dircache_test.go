package fs

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestDirCache: cached directory descriptors follow renames of the
// directory and of its ancestors through the mount, and stay bounded.
func TestDirCache(t *testing.T) {
	tm := mountTest(t, nil)
	deep := filepath.Join(tm.mnt, "a", "b", "c")
	must(t, os.MkdirAll(deep, 0o755))
	must(t, os.WriteFile(filepath.Join(deep, "f1"), []byte("1"), 0o644)) // caches a/b/c
	must(t, os.Rename(filepath.Join(tm.mnt, "a"), filepath.Join(tm.mnt, "x")))
	must(t, os.Mkdir(filepath.Join(tm.mnt, "a"), 0o755)) // a new a, without b
	must(t, os.WriteFile(filepath.Join(tm.mnt, "x", "b", "c", "f2"), []byte("2"), 0o644))
	must(t, os.Rename(filepath.Join(tm.mnt, "x", "b"), filepath.Join(tm.mnt, "a", "b")))
	must(t, os.WriteFile(filepath.Join(tm.mnt, "a", "b", "c", "f3"), []byte("3"), 0o644))
	for _, f := range []string{"f1", "f2", "f3"} {
		if _, err := os.Stat(filepath.Join(tm.backing, "a", "b", "c", f)); err != nil {
			t.Errorf("backing a/b/c/%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(tm.backing, "x", "b")); !os.IsNotExist(err) {
		t.Errorf("backing x/b still there: %v", err)
	}

	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		must(t, err)
		return len(ents)
	}
	before := fds()
	for i := range 2 * dirCacheSize {
		d := filepath.Join(tm.mnt, "many", strconv.Itoa(i))
		must(t, os.MkdirAll(d, 0o755))
		must(t, os.WriteFile(filepath.Join(d, "f"), nil, 0o644))
	}
	if n := tm.m.root.dirs.len(); n > dirCacheSize {
		t.Errorf("%d descriptors cached, want at most %d", n, dirCacheSize)
	}
	if grown := fds() - before; grown > dirCacheSize+16 {
		t.Errorf("%d more descriptors open after using %d directories", grown, 2*dirCacheSize)
	}
}
