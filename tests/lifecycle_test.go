package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// TestInitialSync: what is in the directory before mounting reaches the
// module without being touched.
func TestInitialSync(t *testing.T) {
	m := mountMirror(t, mountOptions{Args: []string{"--xattrs"}, Setup: func(t *testing.T, dir string) {
		testkit.Populate(t, dir, testkit.PopulateOptions{Xattrs: true, Devices: true})
	}})
	m.Sync(t)
	st := m.Status(t)
	if is, ok := st["initial_sync"].(map[string]any); !ok || is["done"] != true || is["running"] == true {
		t.Errorf("status initial_sync should be done: %v", st["initial_sync"])
	}
	testkit.AssertTreesEqual(t, m.Mnt, m.Daemon.Dir, testkit.CompareOptions{Xattrs: true})
}

// TestInitialSyncDeletesExtra: the initial sync makes the module equal to
// the source, removing what the source does not have.
func TestInitialSyncDeletesExtra(t *testing.T) {
	requireE2E(t)
	d := testkit.StartDaemon(t, testkit.DaemonOptions{})
	write(t, d.Dir+"/stale-on-module", "old")
	m := mountMirror(t, mountOptions{Daemon: d, Setup: func(t *testing.T, dir string) {
		write(t, dir+"/fresh", "new")
	}})
	m.assertMirrored(t, testkit.CompareOptions{})
}

// TestNoInitialSync: --no-initial-sync leaves existing files alone; only
// later changes are shipped.
func TestNoInitialSync(t *testing.T) {
	m := mountMirror(t, mountOptions{Args: []string{"--no-initial-sync"}, Setup: func(t *testing.T, dir string) {
		write(t, dir+"/old1", "1")
		must(t, os.MkdirAll(dir+"/olddir/sub", 0o755))
		write(t, dir+"/olddir/sub/old2", "2")
	}})
	write(t, m.Mnt+"/new", "n")
	m.Sync(t)
	if st := m.Status(t); st["initial_sync"] != nil {
		if is, _ := st["initial_sync"].(map[string]any); is["running"] == true {
			t.Errorf("initial sync running despite --no-initial-sync: %v", is)
		}
	}
	if got := readFile(t, m.Daemon.Dir+"/new"); got != "n" {
		t.Errorf("module new = %q", got)
	}
	for _, p := range []string{"old1", "olddir"} {
		if exists(t, filepath.Join(m.Daemon.Dir, p)) {
			t.Errorf("--no-initial-sync shipped pre-existing %s", p)
		}
	}
}

// burst creates n files below dir by path, counting successes, and stops at
// the first error (the mount went away).
func burst(dir string, n int, created *atomic.Int64) error {
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("b%02d", i/100))
		if i%100 == 0 {
			if err := os.Mkdir(sub, 0o755); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%04d", i)), fmt.Appendf(nil, "burst %d\n", i), 0o644); err != nil {
			return err
		}
		created.Add(1)
	}
	return nil
}

// TestUnmountAfterBurst: 2,000 creates, then an immediate unmount; the
// unmount ships everything first.
func TestUnmountAfterBurst(t *testing.T) {
	m := mountMirror(t, mountOptions{})
	var created atomic.Int64
	must(t, burst(m.Mnt, 2000, &created))
	out, code := m.Unmount(t)
	if code != 0 {
		t.Fatalf("mirrorfs unmount: exit %d: %s", code, out)
	}
	if ec := m.Wait(t); ec != 0 {
		t.Errorf("mirrorfs mount exited %d after a clean unmount", ec)
	}
	if fstype, _ := mountType(m.Mnt); fstype != "" && strings.HasPrefix(fstype, "fuse") {
		t.Fatalf("still mounted after unmount: %s", fstype)
	}
	// The mountpoint now shows the backing directory itself.
	testkit.AssertTreesEqual(t, m.Mnt, m.Daemon.Dir, testkit.CompareOptions{})
}

// TestUnmountDuringBurst runs `mirrorfs unmount` while 2,000 creates are
// going on through a --source mount. Whatever got through the mount is on
// the module when unmount returns 0.
func TestUnmountDuringBurst(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	must(t, os.Mkdir(src, 0o755))
	m := mountMirror(t, mountOptions{Source: src})
	var created atomic.Int64
	done := make(chan error, 1)
	go func() { done <- burst(m.Mnt, 2000, &created) }()
	testkit.Eventually(t, convergeTimeout, func() (bool, string) {
		n := created.Load()
		return n >= 500, fmt.Sprintf("only %d files created", n)
	})
	out, code := m.Unmount(t)
	burstErr := <-done
	t.Logf("unmount after %d creates (burst ended with %v): exit %d: %s", created.Load(), burstErr, code, out)
	if code != 0 {
		t.Fatalf("mirrorfs unmount during a burst: exit %d: %s\nstatus: %s", code, out, m.statusText(t))
	}
	if ec := m.Wait(t); ec != 0 {
		t.Errorf("mirrorfs mount exited %d after a clean unmount", ec)
	}
	testkit.AssertTreesEqual(t, src, m.Daemon.Dir, testkit.CompareOptions{})
}

// TestSignalsFlushAndUnmount: SIGINT (Ctrl-C), SIGTERM and SIGHUP (the
// terminal closed) each ship what is queued, unmount and exit 0.
func TestSignalsFlushAndUnmount(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			m := mountMirror(t, mountOptions{Args: []string{"--delay", "10s", "--max-delay", "20s", "--no-leading-edge"}})
			write(t, filepath.Join(m.Mnt, "queued"), "shipped by the flush")
			must(t, m.cmd.Process.Signal(sig))
			if code := m.Wait(t); code != exitcode.OK {
				t.Fatalf("after %v: exit %d, want %d\n%s", sig, code, exitcode.OK, m.logText())
			}
			if fstype, _ := mountType(m.Mnt); fstype != "" {
				t.Fatalf("after %v: %s still mounted (%s)", sig, m.Mnt, fstype)
			}
			if got := readFile(t, filepath.Join(m.Daemon.Dir, "queued")); got != "shipped by the flush" {
				t.Errorf("after %v the module has %q", sig, got)
			}
		})
	}
}
