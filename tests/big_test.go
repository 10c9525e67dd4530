package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

func TestLargeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB file skipped in -short mode")
	}
	m := mountMirror(t, mountOptions{})
	f, err := os.Create(filepath.Join(m.Mnt, "1GiB.bin"))
	must(t, err)
	buf := make([]byte, 1<<20)
	for i := range 1024 {
		// Every MiB differs, so a misplaced block is a content difference.
		for j := 0; j < len(buf); j += 4096 {
			buf[j] = byte(i)
			buf[j+1] = byte(i >> 8)
			buf[j+2] = byte(j >> 12)
		}
		if _, err := f.Write(buf); err != nil {
			t.Fatalf("writing MiB %d through the mount: %v", i, err)
		}
	}
	must(t, f.Close())
	m.assertMirrored(t, testkit.CompareOptions{})

	// A small change in the middle of the big file.
	f, err = os.OpenFile(filepath.Join(m.Mnt, "1GiB.bin"), os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt([]byte("changed in the middle"), 512<<20+3)
	must(t, err)
	must(t, f.Close())
	m.assertMirrored(t, testkit.CompareOptions{})
}

func TestManySmallFiles(t *testing.T) {
	m := mountMirror(t, mountOptions{})
	const dirs, perDir = 100, 100
	for d := range dirs {
		dir := filepath.Join(m.Mnt, fmt.Sprintf("d%03d", d))
		must(t, os.Mkdir(dir, 0o755))
		for i := range perDir {
			must(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d", i)), fmt.Appendf(nil, "file %d/%d\n", d, i), 0o644))
		}
	}
	m.assertMirrored(t, testkit.CompareOptions{})
	st := m.Status(t)
	// A directory shipped recursively counts once, so only events are exact.
	if st.total("events") < dirs*perDir || st.total("shipped_paths") == 0 {
		t.Errorf("status totals should count at least %d events and some shipped paths: %v", dirs*perDir, st["totals"])
	}
	// Delete half of them, rename a few directories.
	for d := 0; d < dirs; d += 2 {
		must(t, os.RemoveAll(filepath.Join(m.Mnt, fmt.Sprintf("d%03d", d))))
	}
	for d := 1; d < 20; d += 2 {
		must(t, os.Rename(filepath.Join(m.Mnt, fmt.Sprintf("d%03d", d)), filepath.Join(m.Mnt, fmt.Sprintf("renamed%03d", d))))
	}
	m.assertMirrored(t, testkit.CompareOptions{})
}
