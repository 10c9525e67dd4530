package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// The soak tests with real programs (issue "hardlinks"). Each round mounts
// the same data directory over itself again (same daemon, same state
// directory), lets real programs churn through the mount, ends with
// `mirrorfs unmount` and wants exit 0 and the module equal to the data,
// hard-link groups and user.* xattrs included. The tree persists across
// rounds, so later rounds rename and delete what earlier rounds left.
//
// `make test` runs one short round of each; `make soak-stress` runs many.
// Knobs: MIRRORFS_SOAK_ROUNDS (default 1), MIRRORFS_SOAK_STRESS (stress-ng
// time per round, default 10s), MIRRORFS_SOAK_WORKERS (workers per
// stressor, default 1), MIRRORFS_SOAK_STRESSORS (comma-separated subset of
// the kept stressors, to narrow a failure down), MIRRORFS_SEED (stress-ng's
// --seed; stress-ng's timing still varies).

const (
	defaultSoakStress = 10 * time.Second
	// soakFlushTimeout is the mount's --flush-timeout: an engine that
	// stalls makes unmount give up (exit 5) after this long instead of the
	// default 5m; a generous bound for flushing one round's churn.
	soakFlushTimeout = 90 * time.Second
	// stressGrace is how long stress-ng may run past its --timeout (its
	// workers finish their current operation and clean up) before the
	// test kills its process group.
	stressGrace = 90 * time.Second
)

// soakStressors are stress-ng's filesystem stressors that keep their files
// with --keep-files. The filename stressor checks that unlinked names are
// gone, which --keep-files defeats, so it runs in a second stress-ng
// without it.
var soakStressors = []string{"dir", "rename", "link", "symlink", "chmod", "utime", "xattr", "mknod"}

// soakCompare is the comparison every round ends with: everything rsync
// -aHX preserves (mirrorfs runs with --xattrs), link groups included.
// Nothing is loosened: after unmount no process touches either tree, so
// even directory mtimes must agree.
var soakCompare = testkit.CompareOptions{Xattrs: true}

func envPositive(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// soak is the state that outlives the rounds: one daemon, one data
// directory, one state directory.
type soak struct {
	d       *testkit.Daemon
	data    string // the mountpoint, mounted over itself each round
	state   string // --state-dir=...
	scratch string // outside the mount: stress-ng logs, tarballs, HOME
	seed    int64
	stress  time.Duration
	workers int
}

func newSoak(t *testing.T) *soak {
	t.Helper()
	requireE2E(t)
	testkit.Require(t, "stress-ng", "cp")
	s := &soak{
		d:       testkit.StartDaemon(t, testkit.DaemonOptions{}),
		data:    filepath.Join(t.TempDir(), "data"),
		state:   stateDirArg(t),
		scratch: t.TempDir(),
		seed:    envSeed(t),
		stress:  envDuration(t, "MIRRORFS_SOAK_STRESS", defaultSoakStress),
		workers: envPositive(t, "MIRRORFS_SOAK_WORKERS", 1),
	}
	must(t, os.Mkdir(s.data, 0o755))
	t.Logf("stress-ng seed %d (MIRRORFS_SEED), %v per round, %d worker(s) per stressor", s.seed, s.stress, s.workers)
	return s
}

// rounds runs body in one subtest per round, each between a mount and an
// unmount that must leave the module equal to the data. It stops at the
// first failed round: later rounds would start from a broken mirror.
func (s *soak) rounds(t *testing.T, body func(t *testing.T, m *Mirror, round int)) {
	n := envPositive(t, "MIRRORFS_SOAK_ROUNDS", 1)
	for r := 1; r <= n; r++ {
		ok := t.Run(fmt.Sprintf("round%02d", r), func(t *testing.T) {
			start := time.Now()
			m := mountMirror(t, mountOptions{Daemon: s.d, Mnt: s.data,
				Args: []string{s.state, "--xattrs", "--flush-timeout", soakFlushTimeout.String()}})
			body(t, m, r)
			s.finish(t, m, r)
			t.Logf("round %d of %d: %v in all; tree now %s", r, n, time.Since(start).Round(time.Millisecond), treeCensus(s.data))
		})
		if !ok {
			t.Fatalf("round %d of %d failed (seed %d); later rounds not run", r, n, s.seed)
		}
	}
}

// finish unmounts and compares. While unmount runs long it logs the rsync
// processes (the open(2)-on-a-FIFO hang shows there); on any failure it
// logs the mirrorfs log lines that matter and a summary of the differences.
func (s *soak) finish(t *testing.T, m *Mirror, round int) {
	t.Helper()
	before := compactJSON(m.statusText(t))
	stop := watchUnmount(t, m)
	start := time.Now()
	out, code := m.Unmount(t)
	stop()
	took := time.Since(start).Round(time.Millisecond)
	t.Logf("round %d: mirrorfs unmount exit %d after %v", round, code, took)

	var problems []string
	if code != exitcode.OK {
		problems = append(problems, fmt.Sprintf("mirrorfs unmount: exit %d after %v, want %d (OK); output:\n%s\nstatus before unmount: %s",
			code, took, exitcode.OK, strings.TrimSpace(out), before))
	}
	select {
	case <-m.exited:
	case <-time.After(exitTimeout):
		problems = append(problems, fmt.Sprintf("mirrorfs mount still running %v after unmount returned; rsync processes:\n%s", exitTimeout, rsyncSnapshot(s.d.Conf, s.d.Addr)))
		s.fail(t, m, round, problems, nil)
	}
	if ec := m.Wait(t); ec != exitcode.OK && code == exitcode.OK {
		problems = append(problems, fmt.Sprintf("mirrorfs mount exited %d after unmount exit 0", ec))
	}
	// The mount is gone: the mountpoint shows the backing directory.
	diffs := testkit.TreeDiff(s.data, s.d.Dir, soakCompare)
	if len(diffs) > 0 {
		problems = append(problems, fmt.Sprintf("module differs from the data after unmount: %s\n%s", diffSummary(diffs), testkit.FormatDiffs(diffs)))
	}
	if len(problems) > 0 {
		s.fail(t, m, round, problems, diffs)
	}
}

func (s *soak) fail(t *testing.T, m *Mirror, round int, problems []string, diffs []string) {
	t.Helper()
	t.Logf("round %d: mirrorfs log, the lines that matter (%s):\n%s", round, m.Log, logEvidence(m.Log))
	t.Fatalf("round %d (seed %d) failed:\n%s", round, s.seed, strings.Join(problems, "\n"))
}

// watchUnmount logs a snapshot of the rsync processes and of status while
// unmount takes longer than 20 s, then every 30 s. stop waits for it.
func watchUnmount(t *testing.T, m *Mirror) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		wait := 20 * time.Second
		for {
			select {
			case <-done:
				return
			case <-time.After(wait):
			}
			wait = 30 * time.Second
			t.Logf("unmount still running after %v; rsync processes:\n%s\nstatus: %s",
				time.Since(start).Round(time.Second), rsyncSnapshot(m.Daemon.Conf, m.Daemon.Addr), quickStatus(m))
		}
	}()
	return func() { close(done); wg.Wait() }
}

// quickStatus is status --json with a short bound: during a stuck unmount
// the control socket may not answer.
func quickStatus(m *Mirror) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mirrorfsBin, "status", "--json", m.Mnt)
	cmd.Env = m.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(%v) %s", err, out)
	}
	return compactJSON(string(out))
}

func compactJSON(s string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(s)) != nil {
		return strings.TrimSpace(s)
	}
	return b.String()
}

// rsyncSnapshot describes every rsync process like ps would, plus its
// wchan, kernel stack and the files its descriptors hold (FIFOs marked).
// Only processes whose command line holds one of match are shown (other
// tests may run their own rsyncs on this machine).
func rsyncSnapshot(match ...string) string {
	ents, _ := os.ReadDir("/proc")
	var b strings.Builder
	for _, e := range ents {
		pid := e.Name()
		if _, err := strconv.Atoi(pid); err != nil {
			continue
		}
		p := "/proc/" + pid
		if readTrim(p+"/comm") != "rsync" {
			continue
		}
		stat := readTrim(p + "/stat")
		var state, ppid string
		if i := strings.LastIndexByte(stat, ')'); i >= 0 {
			if f := strings.Fields(stat[i+1:]); len(f) > 2 {
				state, ppid = f[0], f[1]
			}
		}
		cmdline := strings.TrimSpace(strings.ReplaceAll(readTrim(p+"/cmdline"), "\x00", " "))
		if !slices.ContainsFunc(match, func(s string) bool { return strings.Contains(cmdline, s) }) {
			continue
		}
		fmt.Fprintf(&b, "  pid %s ppid %s state %s wchan %s: %s\n", pid, ppid, state, readTrim(p+"/wchan"), cmdline)
		if st := readTrim(p + "/stack"); st != "" {
			lines := strings.Split(st, "\n")
			fmt.Fprintf(&b, "    stack: %s\n", strings.Join(lines[:min(len(lines), 6)], " | "))
		}
		fds, _ := os.ReadDir(p + "/fd")
		for _, fd := range fds {
			target, err := os.Readlink(p + "/fd/" + fd.Name())
			if err != nil || strings.HasPrefix(target, "pipe:") || strings.HasPrefix(target, "socket:") || strings.HasPrefix(target, "/dev/") {
				continue
			}
			kind := ""
			if fi, err := os.Stat(p + "/fd/" + fd.Name()); err == nil && fi.Mode()&os.ModeNamedPipe != 0 {
				kind = " (FIFO)"
			}
			fmt.Fprintf(&b, "    fd %s -> %s%s\n", fd.Name(), target, kind)
		}
	}
	if b.Len() == 0 {
		return "  (no rsync process)"
	}
	return strings.TrimRight(b.String(), "\n")
}

func readTrim(path string) string {
	data, _ := os.ReadFile(path)
	return strings.TrimSpace(string(data))
}

// evidencePattern selects the mirrorfs log lines worth reading after a
// failure: warnings and errors, reconciles, stalls, stuck paths.
var evidencePattern = regexp.MustCompile(`level=(WARN|ERROR)|reconcile|stalled|could not be mirrored|made no progress|full sync|hard-link`)

var slogMsg = regexp.MustCompile(`level=(\w+) msg=("(?:[^"\\]|\\.)*"|\S+)`)

// logEvidence condenses a mirrorfs log: how often each warning/info message
// came up, then the first and last matching lines.
func logEvidence(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	var hits []string
	count := map[string]int{}
	for _, l := range strings.Split(string(data), "\n") {
		if !evidencePattern.MatchString(l) {
			continue
		}
		hits = append(hits, l)
		if m := slogMsg.FindStringSubmatch(l); m != nil {
			count[m[1]+" "+m[2]]++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d matching line(s) of %d; by message:\n", len(hits), strings.Count(string(data), "\n"))
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return count[keys[i]] > count[keys[j]] })
	for _, k := range keys {
		fmt.Fprintf(&b, "  %6d× %s\n", count[k], k)
	}
	const head, tailN = 15, 40
	show := func(ls []string) {
		for _, l := range ls {
			if len(l) > 600 {
				l = l[:600] + "…"
			}
			b.WriteString("  " + l + "\n")
		}
	}
	if len(hits) <= head+tailN {
		show(hits)
	} else {
		show(hits[:head])
		fmt.Fprintf(&b, "  ... %d more ...\n", len(hits)-head-tailN)
		show(hits[len(hits)-tailN:])
	}
	return strings.TrimRight(b.String(), "\n")
}

// diffSummary counts TreeDiff lines by kind and by top-level directory, so
// a failure says at a glance whether names were left behind, types
// swapped, link groups split, or attributes lost.
func diffSummary(diffs []string) string {
	kinds := map[string]int{}
	tops := map[string]int{}
	for _, d := range diffs {
		rel, rest, _ := strings.Cut(d, ": ")
		if u, err := strconv.Unquote(rel); err == nil {
			rel = u
		}
		parts := strings.SplitN(rel, "/", 4)
		tops[strings.Join(parts[:min(len(parts), 3)], "/")]++
		kind := rest
		for _, k := range []string{"only in a", "only in b", "type differs", "hard-link group differs", "mode differs", "mtime differs",
			"size differs", "content differs", "symlink target differs", "xattr", "uid differs", "gid differs", "device differs"} {
			if strings.HasPrefix(rest, k) {
				kind = k
				break
			}
		}
		kinds[kind]++
	}
	return "by kind " + fmtCounts(kinds) + "; by directory (3 levels) " + fmtCounts(tops) + " (a = data, b = module)"
}

func fmtCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || (m[keys[i]] == m[keys[j]] && keys[i] < keys[j]) })
	parts := make([]string, 0, len(keys))
	for i, k := range keys {
		if i == 12 {
			parts = append(parts, fmt.Sprintf("... %d more", len(keys)-12))
			break
		}
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// treeCensus counts a tree's entries by type and its multi-linked names.
func treeCensus(root string) string {
	counts := map[string]int{}
	linked := 0
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		switch m := fi.Mode(); {
		case m.IsDir():
			counts["dirs"]++
		case m.IsRegular():
			counts["files"]++
		case m&os.ModeSymlink != 0:
			counts["symlinks"]++
		default:
			counts["special"]++
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && !fi.IsDir() && st.Nlink > 1 {
			linked++
		}
		return nil
	})
	return fmt.Sprintf("%d dirs, %d files, %d symlinks, %d special, %d multi-linked names",
		counts["dirs"], counts["files"], counts["symlinks"], counts["special"], linked)
}

// runBounded runs a program in dir with a bound on its run time; on expiry
// its whole process group is killed. It returns the combined output and
// the exit code (-1: killed or not started).
func runBounded(t *testing.T, timeout time.Duration, dir string, env []string, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	// Workers that outlived their parent (stress-ng forks) go with it.
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if ctx.Err() != nil {
		t.Errorf("%s %s: still running after %v; killed its process group\n%s", name, quoteArgs(args), timeout, tail(out.String(), 40))
		return out.String(), -1
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("%s %s: %v", name, quoteArgs(args), err)
	}
	return out.String(), 0
}

// mustRun is runBounded that fails the test unless the program exits 0.
func mustRun(t *testing.T, timeout time.Duration, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, code := runBounded(t, timeout, dir, env, name, args...)
	if code != 0 {
		t.Fatalf("%s %s (in %s): exit %d\n%s", name, quoteArgs(args), dir, code, tail(out, 40))
	}
	return out
}

// stressNG runs the stressors with workers each in dir (created) for d: one
// stress-ng that keeps its files, and one for the filename stressor. A
// stressor that reports a failure through the mount fails the test (stress-ng
// exit 2): it passes on the machine's own filesystem.
func (s *soak) stressNG(t *testing.T, dir string, d time.Duration) {
	t.Helper()
	testkit.Require(t, "stress-ng")
	must(t, os.MkdirAll(dir, 0o755))
	secs := strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second)))
	common := []string{"--temp-path", dir, "--timeout", secs, "--seed", strconv.FormatInt(s.seed, 10), "--metrics-brief"}
	kept := append(append([]string{}, common...), "--keep-files")
	stressors := soakStressors
	if v := os.Getenv("MIRRORFS_SOAK_STRESSORS"); v != "" { // e.g. "rename,link" to narrow a failure down
		stressors = strings.Split(v, ",")
	}
	for _, st := range stressors {
		kept = append(kept, "--"+st, strconv.Itoa(s.workers))
	}
	names := append(append([]string{}, common...), "--filename", strconv.Itoa(s.workers))
	env := append(os.Environ(), "TMPDIR="+s.scratch)
	type result struct {
		args []string
		out  string
		code int
	}
	results := make([]result, 2)
	var wg sync.WaitGroup
	for i, args := range [][]string{kept, names} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, code := runBounded(t, d+stressGrace, s.scratch, env, "stress-ng", args...)
			results[i] = result{args, out, code}
		}()
	}
	wg.Wait()
	for _, r := range results {
		t.Logf("stress-ng %s: exit %d\n%s", quoteArgs(r.args), r.code, stressSummary(r.out))
		switch r.code {
		case 0:
		case 3, 4: // a stressor lacked resources or is not implemented here: skipped, not a failure
		default:
			t.Errorf("stress-ng %s: exit %d through the mount:\n%s", quoteArgs(r.args), r.code, tail(r.out, 40))
		}
	}
}

// stressSummary keeps stress-ng's metrics, failures and warnings.
func stressSummary(out string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(l, "metrc:") || strings.Contains(l, "fail:") || strings.Contains(l, "warn:") ||
			strings.Contains(l, "error:") || strings.Contains(l, "skipped") {
			keep = append(keep, "  "+l)
		}
	}
	if len(keep) > 30 {
		keep = append(keep[:30], fmt.Sprintf("  ... %d more lines", len(keep)-30))
	}
	return strings.Join(keep, "\n")
}

// rotate renames the previous round's dir under base/old and deletes the
// one before it, through the mount, so the tree stays about two rounds
// big while every round renames a populated tree and deletes another.
func rotate(t *testing.T, base string, round int, dirs ...string) {
	t.Helper()
	old := filepath.Join(base, "old")
	must(t, os.MkdirAll(old, 0o755))
	for _, d := range dirs {
		prev := filepath.Join(base, d, fmt.Sprintf("r%02d", round-1))
		if _, err := os.Lstat(prev); err == nil {
			must(t, os.MkdirAll(filepath.Join(old, d), 0o755))
			must(t, os.Rename(prev, filepath.Join(old, d, fmt.Sprintf("r%02d", round-1))))
		}
		must(t, os.RemoveAll(filepath.Join(old, d, fmt.Sprintf("r%02d", round-2))))
	}
}

// TestSoakStressNG: stress-ng's filesystem stressors (dir, rename, link,
// symlink, chmod, utime, xattr, mknod with --keep-files; filename beside
// them) churn through the mount: type swaps, vanishing names, link groups.
// Then cp -al links the tree they left (groups of files, devices, FIFOs
// and sockets). Later rounds rename the previous round's trees and delete
// older ones. Each round ends with unmount exit 0 and equal trees.
func TestSoakStressNG(t *testing.T) {
	s := newSoak(t)
	s.rounds(t, func(t *testing.T, m *Mirror, round int) {
		rotate(t, m.Mnt, round, "stress", "links")
		r := fmt.Sprintf("r%02d", round)
		dir := filepath.Join(m.Mnt, "stress", r)
		s.stressNG(t, dir, s.stress)
		must(t, os.MkdirAll(filepath.Join(m.Mnt, "links"), 0o755))
		mustRun(t, 5*time.Minute, m.Mnt, nil, "cp", "-al", dir, filepath.Join(m.Mnt, "links", r))
		t.Logf("round %d: after stress-ng and cp -al: %s", round, treeCensus(m.Mnt))
	})
}
