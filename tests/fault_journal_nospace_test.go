package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// TestFaultJournalNoSpace is the reader's report: state directory on a
// 2 MiB tmpfs, 300 files written, kill -9, the tmpfs filled, mount again
// with --force. That mount used to hang for ever. It must fail within
// seconds with one line saying what, why and what to do, leaving the data
// and the journal as they were; once space is freed, the next mount
// replays the journal and the module converges.
func TestFaultJournalNoSpace(t *testing.T) {
	requireE2E(t)
	stateFS := filepath.Join(t.TempDir(), "state-tmpfs")
	must(t, os.Mkdir(stateFS, 0o755))
	if err := unix.Mount("tmpfs", stateFS, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=2m,mode=0755"); err != nil {
		t.Fatalf("mounting a 2 MiB tmpfs for the state directory: %v", err)
	}
	// Registered before the mirrors, so it runs after them.
	t.Cleanup(func() {
		ok, msg := testkit.Poll(10*time.Second, func() (bool, string) {
			err := unix.Unmount(stateFS, 0)
			return err == nil, fmt.Sprint(err)
		})
		if !ok {
			t.Errorf("unmounting the state tmpfs: %s; detaching it", msg)
			unix.Unmount(stateFS, unix.MNT_DETACH)
		}
	})
	state := "--state-dir=" + stateFS

	// Nothing ships before the kill: the journal holds all 300 changes.
	m := mountMirror(t, mountOptions{Args: []string{state, "--no-initial-sync", "--delay", "30s", "--max-delay", "60s", "--no-leading-edge"}})
	lazyUnmountCleanup(t, m.Mnt)
	const n = 300
	for i := range n {
		write(t, filepath.Join(m.Mnt, fmt.Sprintf("f%03d", i)), fmt.Sprintf("file %d\n", i))
	}
	var lastBytes float64
	testkit.Eventually(t, mountTimeout, func() (bool, string) {
		st := m.Status(t)
		j, _ := st["journal"].(map[string]any)
		b, _ := j["bytes"].(float64)
		settled := b > 0 && b == lastBytes // two group commits apart, nothing new
		lastBytes = b
		time.Sleep(50 * time.Millisecond)
		return settled && st.num("pending")+st.num("in_flight") >= n, "want 300 changes queued and journaled: " + st.String()
	})
	snap := testkit.Snapshot(t, m.Mnt)
	m.kill9(t)
	waitStale(t, m.Mnt)
	if names, _ := os.ReadDir(m.Daemon.Dir); len(names) != 0 {
		t.Fatalf("the module already holds %d entries: the journal would not matter", len(names))
	}

	journal := readTree(t, stateFS)
	if !slices.ContainsFunc(slices.Collect(maps.Keys(journal)), func(p string) bool { return filepath.Base(p) == "journal" }) {
		t.Fatalf("no journal in %s: %v", stateFS, slices.Sorted(maps.Keys(journal)))
	}
	fillUp(t, filepath.Join(stateFS, "fill"))

	// The log (it says the stale mount was cleared) goes to a file: stderr
	// holds the error alone.
	logFile := filepath.Join(t.TempDir(), "failed-mount.log")
	args := []string{"mount", "--dest", m.Daemon.URL(), "--password-file", m.Daemon.PasswordFile, state, "--force", "--log-file", logFile, m.Mnt}
	start := time.Now()
	stderr, code := runMountWithin(t, m.env(), m.Mnt, 20*time.Second, args...)
	took := time.Since(start)
	log, _ := os.ReadFile(logFile)
	t.Logf("after %v, exit %d: %s(log: %s)", took.Round(time.Millisecond), code, stderr, log)
	if took > 10*time.Second {
		t.Errorf("the failing mount took %v, want seconds", took)
	}
	if code != exitcode.Internal {
		t.Errorf("exit %d, want %d (exitcode.Internal)", code, exitcode.Internal)
	}
	checkOneLineError(t, stderr)
	for _, want := range []string{stateFS, "journal", "cannot be written", "no space left on device", "free space", "--state-dir", "state-dir=none"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the error does not say %q: %s", want, stderr)
		}
	}
	if fstype, _ := mountType(m.Mnt); fstype != "" {
		t.Fatalf("%s is mounted (%s) after a failed start", m.Mnt, fstype)
	}
	testkit.AssertTreesEqual(t, m.Mnt, snap, testkit.CompareOptions{ExactSpecialMtime: true, Xattrs: true})
	after := readTree(t, stateFS)
	delete(after, "fill")
	if !maps.Equal(after, journal) {
		t.Errorf("the state directory changed: %v, was %v", slices.Sorted(maps.Keys(after)), slices.Sorted(maps.Keys(journal)))
	}

	// Space is back: the journal is replayed and everything converges.
	must(t, os.Remove(filepath.Join(stateFS, "fill")))
	m2 := m.remount(t, state, "--no-initial-sync")
	r := m2.Status(t).recovery()
	if r["start"] != "recovered" || r["replayed"] == nil || r["replayed"].(float64) < n {
		t.Errorf("after freeing space: recovery %v, want start=recovered and replayed >= %d", r, n)
	}
	m2.waitReconciled(t)
	m2.assertMirrored(t, testkit.CompareOptions{})
}

// readTree returns every regular file under dir with its contents.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := make(map[string]string)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = string(b)
		return err
	})
	must(t, err)
	return files
}

// fillUp writes name until its filesystem has no room left.
func fillUp(t *testing.T, name string) {
	t.Helper()
	f, err := os.Create(name)
	must(t, err)
	defer f.Close()
	for chunk := make([]byte, 64<<10); len(chunk) > 0; chunk = chunk[:len(chunk)/2] {
		for err == nil {
			_, err = f.Write(chunk)
		}
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("filling %s: %v, want ENOSPC", name, err)
		}
		err = nil
	}
}

// runMountWithin runs mirrorfs ARGS in the foreground and returns its
// stderr and exit code; still running after d, it is killed (and its mount
// removed) and the test fails: it hung.
func runMountWithin(t *testing.T, env []string, mnt string, d time.Duration, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, mirrorfsBin, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		if mnt != "" {
			exec.Command("fusermount3", "-u", "-z", mnt).Run()
		}
		t.Fatalf("mirrorfs %s was still running after %v; it should have failed at start.\nstderr: %s", quoteArgs(args), d, stderr.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running mirrorfs: %v", err)
	}
	if ee != nil {
		return stderr.String(), ee.ExitCode()
	}
	return stderr.String(), 0
}
