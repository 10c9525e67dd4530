package tests

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// writeZeros writes a file of size bytes (not sparse: every byte is sent).
func writeZeros(t *testing.T, path string, size int) {
	t.Helper()
	f, err := os.Create(path)
	must(t, err)
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i*7 + 1)
	}
	for n := 0; n < size; n += len(buf) {
		_, err := f.Write(buf[:min(len(buf), size-n)])
		must(t, err)
	}
	must(t, f.Close())
}

// TestBwLimit measures the figure: a 100 MiB file at bwlimit=10M
// (10 MiB/s) should take about 10 s. The band is generous: only a limit
// that is ignored (well under 6 s) or misread (far over 30 s) fails.
func TestBwLimit(t *testing.T) {
	requireE2E(t)
	const size = 100 << 20
	start := time.Now()
	m := mountMirror(t, mountOptions{
		Args:  []string{"--bwlimit", "10M"},
		Setup: func(t *testing.T, dir string) { writeZeros(t, filepath.Join(dir, "big"), size) },
	})
	m.Sync(t)
	took := time.Since(start)
	t.Logf("bwlimit=10M: 100 MiB mirrored in %.1f s (%.1f MiB/s)", took.Seconds(), float64(size)/(1<<20)/took.Seconds())
	if took < 6*time.Second || took > 30*time.Second {
		t.Errorf("100 MiB at 10 MiB/s took %v, want about 10 s (6..30 s)", took)
	}
	testkit.AssertTreesEqual(t, m.Data(), m.Daemon.Dir, testkit.CompareOptions{})
}
