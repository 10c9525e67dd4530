package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// raceReport is how the race detector starts a report on stderr.
const raceReport = "WARNING: DATA RACE"

// Bounds for convergence, generous because CI machines stall; never speeds.
const (
	mountTimeout = 30 * time.Second
	syncTimeout  = 180 * time.Second
	exitTimeout  = 60 * time.Second
)

// mountOptions configures mountMirror. The zero value mounts in place over a
// fresh directory, mirroring to a fresh daemon with --delay 50ms.
type mountOptions struct {
	Daemon     *testkit.Daemon                // nil: start one with DaemonOpts
	DaemonOpts testkit.DaemonOptions          // for a new daemon
	Mnt        string                         // existing mountpoint (its contents are the data); "" = new
	Source     string                         // --source DIR; "" = in-place mount
	Args       []string                       // extra flags
	PassFile   string                         // --password-file; "" = the daemon's
	Dest       string                         // --dest; "" = the daemon's URL
	Setup      func(t *testing.T, dir string) // fills the data dir before mounting
}

// Mirror is one running `mirrorfs mount` child process.
type Mirror struct {
	Mnt    string // the mountpoint
	Source string // --source dir, or "" for an in-place mount
	Daemon *testkit.Daemon
	RunDir string // MIRRORFS_RUN_DIR: where the control socket lives
	Log    string // the mount process's stdout+stderr

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// Data is the directory whose contents are mirrored, seen through the mount
// for an in-place mount.
func (m *Mirror) Data() string {
	if m.Source != "" {
		return m.Source
	}
	return m.Mnt
}

func requireE2E(t *testing.T) {
	t.Helper()
	testkit.Require(t, "root", "fuse", "rsync")
}

func mountMirror(t *testing.T, o mountOptions) *Mirror {
	t.Helper()
	requireE2E(t)
	d := o.Daemon
	if d == nil {
		d = testkit.StartDaemon(t, o.DaemonOpts)
	}
	m := &Mirror{Mnt: o.Mnt, Source: o.Source, Daemon: d, RunDir: t.TempDir()}
	if m.Mnt == "" {
		m.Mnt = filepath.Join(t.TempDir(), "mnt")
		if err := os.Mkdir(m.Mnt, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if o.Setup != nil {
		o.Setup(t, m.Data())
	}
	m.Log = filepath.Join(t.TempDir(), "mirrorfs.log")
	args := []string{"mount", "--dest", def(o.Dest, d.URL()), "--password-file", def(o.PassFile, d.PasswordFile)}
	// An option may be given once: the test's own --delay replaces the default.
	if !slices.ContainsFunc(o.Args, func(a string) bool { return strings.HasPrefix(a, "--delay") }) {
		args = append(args, "--delay", "50ms")
	}
	if o.Source != "" {
		args = append(args, "--source", o.Source)
	}
	if !slices.ContainsFunc(o.Args, func(a string) bool { return strings.HasPrefix(a, "--state-dir") }) {
		args = append(args, "--state-dir", filepath.Join(t.TempDir(), "state"))
	}
	args = append(append(args, o.Args...), m.Mnt)
	m.start(t, args)
	t.Cleanup(func() { m.cleanup(t) })
	m.waitReady(t)
	return m
}

func def(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (m *Mirror) env() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "RSYNC_PASSWORD=") && !strings.HasPrefix(e, "MIRRORFS_") {
			env = append(env, e)
		}
	}
	return append(env, "MIRRORFS_RUN_DIR="+m.RunDir)
}

func (m *Mirror) start(t *testing.T, args []string) {
	t.Helper()
	logf, err := os.OpenFile(m.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "+ mirrorfs %s\n", quoteArgs(args))
	m.cmd = exec.Command(mirrorfsBin, args...)
	m.cmd.Env = m.env()
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	// Pdeathsig: a killed test run must not leave a mount behind.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("starting mirrorfs mount: %v", err)
	}
	m.exited = make(chan struct{})
	go func() { m.waitErr = m.cmd.Wait(); close(m.exited) }()
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}

func (m *Mirror) running() bool {
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// waitReady waits for the kernel mount and a control socket that answers.
func (m *Mirror) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(mountTimeout)
	for {
		if !m.running() {
			t.Fatalf("mirrorfs mount exited before it was ready (%v):\n%s", m.waitErr, m.logText())
		}
		if fstype, _ := mountType(m.Mnt); fstype == "fuse.mirrorfs" {
			if _, _, code := m.cli(t, "status", "--json", m.Mnt); code == 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mirrorfs not ready within %v (mountinfo for %s, status --json exit 0):\n%s", mountTimeout, m.Mnt, m.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mountType returns the filesystem type mounted at dir per
// /proc/self/mountinfo, or "" when nothing is mounted there.
func mountType(dir string) (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	fstype := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields := strings.Fields(pre)
		if !ok || len(fields) < 5 || unescapeMountinfo(fields[4]) != dir {
			continue
		}
		if f := strings.Fields(post); len(f) > 0 {
			fstype = f[0] // the last match is the visible one
		}
	}
	return fstype, sc.Err()
}

func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cli runs a mirrorfs subcommand with this mount's environment.
func (m *Mirror) cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runMirrorfs(t, m.env(), args...)
}

func runMirrorfs(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), syncTimeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mirrorfsBin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("running mirrorfs %s: %v", quoteArgs(args), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("mirrorfs %s did not return within %v", quoteArgs(args), syncTimeout+30*time.Second)
	}
	if strings.Contains(errb.String(), raceReport) {
		t.Errorf("mirrorfs %s: the race detector reported a data race:\n%s", quoteArgs(args), errb.String())
	}
	return out.String(), errb.String(), code
}

// Sync runs `mirrorfs sync --wait` and fails the test unless it exits 0.
func (m *Mirror) Sync(t *testing.T) {
	t.Helper()
	out, errOut, code := m.cli(t, "sync", "--wait", "--timeout", syncTimeout.String(), m.Mnt)
	if code != 0 {
		t.Fatalf("mirrorfs sync --wait: exit %d\nstdout: %s\nstderr: %s\nstatus: %s\nmirrorfs log:\n%s",
			code, out, errOut, m.statusText(t), m.logText())
	}
}

// SyncCode runs `mirrorfs sync --wait` and returns its exit code and stderr.
func (m *Mirror) SyncCode(t *testing.T, timeout time.Duration) (int, string) {
	t.Helper()
	_, errOut, code := m.cli(t, "sync", "--wait", "--timeout", timeout.String(), m.Mnt)
	return code, errOut
}

// status is `mirrorfs status --json`, decoded loosely so the test reports
// missing keys instead of failing to decode.
type status map[string]any

// Status runs `mirrorfs status --json` and decodes it.
func (m *Mirror) Status(t *testing.T) status {
	t.Helper()
	out, errOut, code := m.cli(t, "status", "--json", m.Mnt)
	if code != 0 {
		t.Fatalf("mirrorfs status --json: exit %d: %s", code, errOut)
	}
	var s status
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("mirrorfs status --json printed no JSON object: %v\n%s", err, out)
	}
	return s
}

func (m *Mirror) statusText(t *testing.T) string {
	out, errOut, _ := m.cli(t, "status", "--json", m.Mnt)
	return out + errOut
}

func (s status) num(key string) float64 {
	v, _ := s[key].(float64)
	return v
}

// total is totals.<key>, 0 when missing.
func (s status) total(key string) float64 {
	tot, _ := s["totals"].(map[string]any)
	v, _ := tot[key].(float64)
	return v
}

func (s status) str(key string) string {
	v, _ := s[key].(string)
	return v
}

func (s status) String() string {
	b, _ := json.Marshal(map[string]any(s))
	return string(b)
}

// stuck lists the paths status reports as not mirrorable.
func (s status) stuck() []map[string]any {
	var out []map[string]any
	list, _ := s["stuck"].([]any)
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// Unmount runs `mirrorfs unmount` and returns its output and exit code.
func (m *Mirror) Unmount(t *testing.T) (string, int) {
	t.Helper()
	out, errOut, code := m.cli(t, "unmount", "--timeout", syncTimeout.String(), m.Mnt)
	return out + errOut, code
}

// Wait waits for the mount process to exit and returns its exit code.
func (m *Mirror) Wait(t *testing.T) int {
	t.Helper()
	select {
	case <-m.exited:
	case <-time.After(exitTimeout):
		t.Fatalf("mirrorfs mount still running %v after unmount:\n%s", exitTimeout, m.logText())
	}
	var ee *exec.ExitError
	if errors.As(m.waitErr, &ee) {
		return ee.ExitCode()
	}
	if m.waitErr != nil {
		return -1
	}
	return 0
}

func (m *Mirror) logText() string {
	data, err := os.ReadFile(m.Log)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	const max = 200
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > max {
		lines = append([]string{fmt.Sprintf("... %d earlier lines", len(lines)-max)}, lines[len(lines)-max:]...)
	}
	return strings.Join(lines, "\n")
}

// cleanup unmounts the clean way, then by force, and checks that nothing is
// left mounted or running.
func (m *Mirror) cleanup(t *testing.T) {
	if m.running() {
		// Shorter bounds once the test failed: the destination may be the
		// reason, and the log matters more than a clean flush.
		timeout, grace := syncTimeout, exitTimeout
		if t.Failed() {
			timeout, grace = 15*time.Second, 5*time.Second
		}
		out, errOut, code := m.cli(t, "unmount", "--timeout", timeout.String(), m.Mnt)
		if code != 0 {
			t.Errorf("cleanup: mirrorfs unmount exit %d: %s%s", code, out, errOut)
		}
		select {
		case <-m.exited:
		case <-time.After(grace):
			t.Errorf("cleanup: mirrorfs mount did not exit %v after unmount; killing it", grace)
			syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
			<-m.exited
		}
	}
	if fstype, _ := mountType(m.Mnt); fstype != "" && strings.HasPrefix(fstype, "fuse") {
		t.Errorf("cleanup: %s still mounted (%s) after mirrorfs exited; lazy unmount", m.Mnt, fstype)
		exec.Command("fusermount3", "-u", "-z", m.Mnt).Run()
	}
	if fstype, _ := mountType(m.Mnt); strings.HasPrefix(fstype, "fuse") {
		t.Errorf("cleanup: %s is still mounted", m.Mnt)
	}
	if strings.Contains(m.logText(), raceReport) {
		t.Errorf("cleanup: the race detector reported a data race in mirrorfs (log below)")
	}
	if t.Failed() {
		t.Logf("mirrorfs log (%s):\n%s", m.Log, headTail(m.logText(), 30, 90))
		t.Logf("rsync daemon log:\n%s", tail(m.Daemon.Log(), 30))
	}
}

// headTail keeps the first head and the last tail lines of s: a failing
// churn test's log runs to thousands of lines, and CI shows only a part of
// the output, which must leave room for the other failures.
func headTail(s string, head, tail int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) <= head+tail {
		return strings.Join(lines, "\n")
	}
	cut := len(lines) - head - tail
	out := append(lines[:head:head], fmt.Sprintf("[... %d lines left out ...]", cut))
	return strings.Join(append(out, lines[len(lines)-tail:]...), "\n")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// assertMirrored syncs and compares the data with the module.
func (m *Mirror) assertMirrored(t *testing.T, opts testkit.CompareOptions) {
	t.Helper()
	m.Sync(t)
	testkit.AssertTreesEqual(t, m.Data(), m.Daemon.Dir, opts)
}
