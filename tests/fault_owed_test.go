package tests

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// TestOwedFullSyncSurvives: a full sync owed for changes past max-pending
// (the destination down) outlives a clean stop whose flush timed out, and
// a kill -9; the next mount, without an initial sync of its own, pays it
// from the journal and the module converges.
func TestOwedFullSyncSurvives(t *testing.T) {
	for _, stop := range []string{"unmount with flush timeout", "kill -9"} {
		t.Run(stop, func(t *testing.T) {
			state := stateDirArg(t)
			m := mountMirror(t, mountOptions{Args: []string{state, "-o", "max-pending=1000", "--timeout", "2s", "--contimeout", "2s", "--flush-timeout", "3s"}})
			lazyUnmountCleanup(t, m.Mnt)
			m.assertMirrored(t, testkit.CompareOptions{})
			m.Daemon.Stop()
			t.Cleanup(m.Daemon.Start)
			for i := range 3000 {
				write(t, filepath.Join(m.Mnt, fmt.Sprintf("top%04d", i)), "t")
			}
			if st := m.Status(t); !owes(st, "overflow") {
				t.Fatalf("3000 changes past max-pending=1000: no overflow full sync owed: %s", st)
			}
			switch stop {
			case "kill -9":
				m.kill9(t)
				waitStale(t, m.Mnt)
			default:
				out, code := m.Unmount(t)
				if code != exitcode.Flush {
					t.Fatalf("unmount with the daemon down: exit %d, want %d (flush incomplete): %s", code, exitcode.Flush, out)
				}
				m.Wait(t)
			}
			m.Daemon.Start()
			m2 := m.remount(t, state, "--force", "--no-initial-sync")
			m2.assertMirrored(t, testkit.CompareOptions{})
			if st := m2.Status(t); owes(st, "overflow") {
				t.Errorf("after convergence the overflow full sync is still owed: %s", st)
			}
			if !strings.Contains(m2.logText(), "overflow") {
				t.Errorf("the second mount's log does not say it paid the overflow full sync:\n%s", m2.logText())
			}
		})
	}
}

// owes reports whether status lists an owed or running full sync for reason.
func owes(s status, reason string) bool {
	r, _ := s["reconcile"].(map[string]any)
	list, _ := r["owed"].([]any)
	for _, o := range list {
		if m, ok := o.(map[string]any); ok && m["reason"] == reason {
			return true
		}
	}
	return false
}

// TestOwedRequestedSyncSurvives: `sync --full` asked for while the
// destination is down is still owed after a clean unmount; the next mount
// runs it (and so ships a file written behind the mount meanwhile).
func TestOwedRequestedSyncSurvives(t *testing.T) {
	state := stateDirArg(t)
	m := mountMirror(t, mountOptions{Args: []string{state, "--timeout", "2s", "--contimeout", "2s"}})
	m.assertMirrored(t, testkit.CompareOptions{})
	m.Daemon.Stop()
	t.Cleanup(m.Daemon.Start)
	if out, errOut, code := m.cli(t, "sync", "--full", m.Mnt); code != exitcode.OK {
		t.Fatalf("sync --full (no wait): exit %d: %s%s", code, out, errOut)
	}
	if st := m.Status(t); !owes(st, "requested") {
		t.Fatalf("a requested full sync is not listed as owed: %s", st)
	}
	if out, code := m.Unmount(t); code != exitcode.OK {
		t.Fatalf("unmount with only a requested full sync owed: exit %d, want %d: %s", code, exitcode.OK, out)
	}
	m.Wait(t)
	if !strings.Contains(m.logText(), "still owed") {
		t.Errorf("the unmount does not say a full sync is still owed:\n%s", m.logText())
	}
	write(t, filepath.Join(m.Mnt, "behind-the-mount"), "written while nothing was mounted")
	m.Daemon.Start()
	m2 := m.remount(t, state, "--no-initial-sync")
	testkit.Eventually(t, syncTimeout, func() (bool, string) {
		st := m2.Status(t)
		return !owes(st, "requested"), "status: " + st.String()
	})
	m2.assertMirrored(t, testkit.CompareOptions{})
	if !strings.Contains(m2.logText(), "reason=requested") {
		t.Errorf("the second mount's log does not show the requested full sync:\n%s", m2.logText())
	}
}
