package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// TestFaultKill9DuringBurst kills mirrorfs with SIGKILL in the middle of a
// burst of 5,000 creates. The next mount (same state directory, --force to
// clear the stale mount, --no-initial-sync) replays the journal and
// reconciles in the background; the module ends equal to the data.
func TestFaultKill9DuringBurst(t *testing.T) {
	state := stateDirArg(t)
	// A long delay keeps changes queued, so the crash certainly leaves some.
	m := mountMirror(t, mountOptions{Args: []string{state, "--delay", "1s", "--max-delay", "5s"}})
	lazyUnmountCleanup(t, m.Mnt)
	if r := m.Status(t).recovery(); r["start"] != "fresh" {
		t.Fatalf("first mount: recovery %v, want start=fresh", r)
	}

	const n = 5000
	var created atomic.Int64
	done := make(chan error, 1)
	go func() {
		for i := range n {
			p := filepath.Join(m.Mnt, fmt.Sprintf("d%02d", i%50), fmt.Sprintf("f%04d", i))
			if i < 50 {
				if err := os.Mkdir(filepath.Dir(p), 0o755); err != nil {
					done <- err
					return
				}
			}
			if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
				done <- err // the mount died under us
				return
			}
			created.Add(1)
		}
		done <- nil
	}()
	testkit.Eventually(t, syncTimeout, func() (bool, string) {
		return created.Load() >= n/2, fmt.Sprintf("%d of %d files created", created.Load(), n)
	})
	m.kill9(t)
	<-done
	t.Logf("killed after %d creates", created.Load())
	waitStale(t, m.Mnt)

	m2 := m.remount(t, state, "--force", "--no-initial-sync")
	st := m2.Status(t)
	r := st.recovery()
	if r["start"] != "recovered" || r["replayed"] == nil || r["replayed"].(float64) <= 0 {
		t.Fatalf("after kill -9: recovery %v, want start=recovered and replayed > 0; status %v", r, st)
	}
	t.Logf("recovery: %v", r)
	// The burst goes on through the new mount.
	for i := created.Load(); i < n; i++ {
		p := filepath.Join(m2.Mnt, fmt.Sprintf("d%02d", i%50), fmt.Sprintf("f%04d", i))
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m2.waitReconciled(t)
	m2.assertMirrored(t, testkit.CompareOptions{})
}
