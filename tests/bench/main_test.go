package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// Binaries built once by TestMain.
var mirrorfsBin, loopbackBin string

func TestMain(m *testing.M) {
	cleanupOnSignal()
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mirrorfs-bench-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: creating a directory for the binaries:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	mirrorfsBin = filepath.Join(dir, "mirrorfs")
	loopbackBin = filepath.Join(dir, "loopback")
	for bin, pkg := range map[string]string{mirrorfsBin: "../../cmd/mirrorfs", loopbackBin: "./cmd/loopback"} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: go build %s failed: %v\n", pkg, err)
			return 1
		}
	}
	return m.Run()
}

// ensureTools checks the benchmark's programs, which scripts/deps.sh
// installs: under CI=true a missing one fails the run, elsewhere it skips.
func ensureTools(t testing.TB) {
	t.Helper()
	testkit.Require(t, "root", "fuse", "rsync", "inotifywait", "lsyncd", "fio", "cc", "pkg-config", testkit.PassthroughLLSource)
}

// newDaemon starts the loopback rsync daemon every tool ships to, with
// transfer logging so received bytes can be read from its log.
func newDaemon(t testing.TB) *testkit.Daemon {
	return testkit.StartDaemon(t, testkit.DaemonOptions{
		Dir:         filepath.Join(t.TempDir(), "module"),
		ExtraModule: []string{"transfer logging = yes"},
	})
}

// mirrorfs is one running `mirrorfs mount` in the foreground.
type mirrorfs struct {
	p      *proc
	mp     string
	runDir string
}

func mkdirModule(t testing.TB, d *testkit.Daemon, sub string) string {
	t.Helper()
	dir := filepath.Join(d.Dir, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startMirrorfs mounts mirrorfs over mp (in place) shipping to module
// subdirectory sub, and returns once the mount is usable (mountinfo shows
// fuse.mirrorfs and status answers). It does not wait for the initial sync.
func startMirrorfs(t testing.TB, d *testkit.Daemon, sub, mp string, extra ...string) *mirrorfs {
	t.Helper()
	if err := os.MkdirAll(mp, 0o755); err != nil {
		t.Fatal(err)
	}
	m := &mirrorfs{mp: mp, runDir: t.TempDir()}
	registerMount(mp)
	// The journal stays on (the default being measured), in the test's temp tree.
	argv := append([]string{mirrorfsBin, "mount", "--dest", d.URL() + "/" + sub, "--password-file", d.PasswordFile,
		"--state-dir", filepath.Join(m.runDir, "state")}, extra...)
	argv = append(argv, mp)
	m.p = startProc(t, "mirrorfs", filepath.Join(m.runDir, "mirrorfs.log"), []string{"MIRRORFS_RUN_DIR=" + m.runDir}, argv...)
	t.Cleanup(func() { m.stop(t) })
	if !m.waitReady(60 * time.Second) {
		t.Fatalf("mirrorfs on %s not ready within 60s:\n%s", mp, m.p.output())
	}
	return m
}

func (m *mirrorfs) waitReady(timeout time.Duration) bool {
	ok, _ := pollFast(timeout, func() (bool, string) {
		if !m.p.running() {
			return true, "exited"
		}
		if mountType(m.mp) != "fuse.mirrorfs" {
			return false, "not in mountinfo"
		}
		_, err := m.ctl(5*time.Second, "status", "--json")
		return err == nil, fmt.Sprint(err)
	})
	return ok && m.p.running()
}

func (m *mirrorfs) ctl(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, mirrorfsBin, append(args, m.mp)...)
	cmd.Env = append(os.Environ(), "MIRRORFS_RUN_DIR="+m.runDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("mirrorfs %s %s: %w\n%s", strings.Join(args, " "), m.mp, err, out)
	}
	return string(out), nil
}

// syncWait is the barrier: every change made so far is on the module.
func (m *mirrorfs) syncWait(t testing.TB, timeout time.Duration) {
	t.Helper()
	if out, err := m.ctl(timeout, "sync", "--wait"); err != nil {
		t.Fatalf("%v\n%s\nmirrorfs log:\n%s", err, out, m.p.output())
	}
}

// stop unmounts (which flushes) and falls back to killing and a lazy
// unmount, so no mount outlives the benchmark.
func (m *mirrorfs) stop(t testing.TB) {
	if m.p.running() {
		if _, err := m.ctl(2*time.Minute, "unmount"); err != nil {
			t.Logf("unmount %s: %v", m.mp, err)
		}
		select {
		case <-m.p.exited:
		case <-time.After(30 * time.Second):
		}
	}
	m.p.kill(2 * time.Second)
	lazyUnmount(m.mp)
}
