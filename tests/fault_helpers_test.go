package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// envDuration reads a duration knob (Go syntax or seconds), def when unset.
func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	if d, err := time.ParseDuration(v); err == nil {
		return d
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(s) * time.Second
	}
	t.Fatalf("%s=%q: want a duration like 60s", name, v)
	return 0
}

// kill9 ends the mount process the hard way, as a crash would: the kernel
// mount stays behind, stale.
func (m *Mirror) kill9(t *testing.T) {
	t.Helper()
	syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-m.exited:
	case <-time.After(exitTimeout):
		t.Fatal("mirrorfs did not die from SIGKILL")
	}
}

// remount starts a new mirrorfs on the same mountpoint and daemon with the
// same state directory, after a crash of the old one.
func (m *Mirror) remount(t *testing.T, args ...string) *Mirror {
	t.Helper()
	return mountMirror(t, mountOptions{Daemon: m.Daemon, Mnt: m.Mnt, Source: m.Source, Args: args})
}

// waitStale waits until the mountpoint answers ENOTCONN: the FUSE server is gone.
func waitStale(t *testing.T, mnt string) {
	t.Helper()
	testkit.Eventually(t, mountTimeout, func() (bool, string) {
		_, err := os.Stat(mnt)
		return err != nil && strings.Contains(err.Error(), "not connected"), "stat of the mountpoint: " + faultErrText(err)
	})
}

func faultErrText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// lazyUnmountCleanup detaches whatever is left at mnt, for tests that crash mounts.
func lazyUnmountCleanup(t *testing.T, mnt string) {
	t.Cleanup(func() {
		for range 4 {
			if fstype, _ := mountType(mnt); !strings.HasPrefix(fstype, "fuse") {
				return
			}
			exec.Command("fusermount3", "-u", "-z", mnt).Run()
		}
	})
}

// recovery returns status' recovery object.
func (s status) recovery() map[string]any {
	r, _ := s["recovery"].(map[string]any)
	return r
}

// waitReconciled waits until the full reconcile after an unclean start is done.
func (m *Mirror) waitReconciled(t *testing.T) {
	t.Helper()
	testkit.Eventually(t, syncTimeout, func() (bool, string) {
		st := m.Status(t)
		return st.recovery()["reconcile"] == "done", "recovery: " + st.String()
	})
}

func stateDirArg(t *testing.T) string {
	return "--state-dir=" + filepath.Join(t.TempDir(), "state")
}
