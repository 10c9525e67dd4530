package tests

import (
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// TestDaemonShutdownFlushesQueue is shutdown with a backlog and a slow
// destination: changes are queued (a long delay keeps them there), the
// rsync daemon is frozen with SIGSTOP so nothing can ship, and the
// background mirrorfs is stopped. It unmounts, then waits for the frozen
// destination; once the daemon is thawed everything is shipped before
// mirrorfs exits.
func TestDaemonShutdownFlushesQueue(t *testing.T) {
	tests := []struct {
		name  string
		files int
		stop  func(t *testing.T, m *bgMirror)
	}{
		{"SIGTERM with 2000 changes queued", 2000, func(t *testing.T, m *bgMirror) {
			must(t, syscall.Kill(m.PID, syscall.SIGTERM))
		}},
		// A .mount unit at shutdown: umount(8) returns at once, then what
		// is left of the unit may get SIGTERM. That must not cut the flush.
		{"umount then SIGTERM", 300, func(t *testing.T, m *bgMirror) {
			if out, code := runMountCmd(t, m.env(), "umount", m.Mnt); code != 0 {
				t.Fatalf("umount with the destination frozen: exit %d: %s", code, out)
			}
			m.waitLog(t, "stopping: flushing queued changes")
			must(t, syscall.Kill(m.PID, syscall.SIGTERM))
			m.waitLog(t, "still flushing")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := fstabSetup(t, false)
			fstab := writeFstab(t, fstabEntry{Route: viaMountFuse3, Source: m.Mnt, Mnt: m.Mnt, Options: m.options("delay=30m,max-delay=30m,no-leading-edge")})
			m.mount(t, fstab)
			m.waitInitialSync(t)

			var created atomic.Int64
			must(t, burst(m.Mnt, tc.files, &created))
			if st := m.status(t); st.num("pending") == 0 || st.total("events") < float64(tc.files) {
				t.Fatalf("want %d changes queued, status: %v", tc.files, st)
			}
			if exists(t, m.Daemon.Dir+"/b00") {
				t.Fatalf("changes shipped despite delay=30m; the test needs them queued")
			}

			daemonPID := rsyncDaemonPID(t, m.Daemon)
			must(t, syscall.Kill(-daemonPID, syscall.SIGSTOP))
			thawed := false
			thaw := func() {
				if !thawed {
					thawed = true
					syscall.Kill(-daemonPID, syscall.SIGCONT)
				}
			}
			t.Cleanup(thaw)

			tc.stop(t, m)
			m.waitLog(t, "stopping: flushing queued changes")
			testkit.Eventually(t, mountTimeout, func() (bool, string) {
				fstype, _ := mountType(m.Mnt)
				return !strings.HasPrefix(fstype, "fuse"), "still mounted: unmount comes before the flush"
			})
			if !detachedAlive(m.PID) {
				t.Fatalf("mirrorfs exited while the destination was frozen: it cannot have shipped the queue\n%s", m.logText())
			}
			thaw()
			m.waitExit(t)
			if log := m.logText(); !strings.Contains(log, "unmounted and flushed") || strings.Contains(log, "abandoning") {
				t.Errorf("mirrorfs did not report a complete flush:\n%s", log)
			}
			testkit.AssertTreesEqual(t, m.Mnt, m.Daemon.Dir, testkit.CompareOptions{})
		})
	}
}
