package tests

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// hookScript writes a hook that records its environment in dir, one file
// per run named after the event, and its standard input beside it.
func hookScript(t *testing.T, dir string) string {
	t.Helper()
	testkit.Require(t, "/bin/sh", "env", "cat", "sleep")
	script := filepath.Join(dir, "hook.sh")
	must(t, os.WriteFile(script, []byte(`f="`+dir+`/$MIRRORFS_EVENT.$$"
cat > "$f.stdin"
{ env; echo END; } > "$f.env"
`), 0o644))
	return "/bin/sh " + script
}

type hookRun struct {
	env   map[string]string
	paths []string
}

// hookRuns reads the finished runs of event in dir.
func hookRuns(t *testing.T, dir, event string) []hookRun {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, event+".*.env"))
	var runs []hookRun
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil || !strings.HasSuffix(string(data), "END\n") {
			continue // still being written
		}
		r := hookRun{env: map[string]string{}}
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				r.env[k] = v
			}
		}
		in, _ := os.ReadFile(strings.TrimSuffix(f, ".env") + ".stdin")
		for _, p := range strings.Split(string(in), "\x00") {
			if p != "" {
				r.paths = append(r.paths, p)
			}
		}
		runs = append(runs, r)
	}
	return runs
}

func waitHookRuns(t *testing.T, dir, event string, cond func([]hookRun) bool) []hookRun {
	t.Helper()
	var runs []hookRun
	testkit.Eventually(t, syncTimeout, func() (bool, string) {
		runs = hookRuns(t, dir, event)
		return cond(runs), fmt.Sprintf("%s hook runs in %s: %d so far", event, dir, len(runs))
	})
	return runs
}

func TestHooksBatchAndBarrier(t *testing.T) {
	dir := t.TempDir()
	hook := hookScript(t, dir)
	const secret = "hooks-test-secret"
	m := mountMirror(t, mountOptions{
		DaemonOpts: testkit.DaemonOptions{Password: secret},
		Args:       []string{"--on-batch", hook, "--on-barrier", hook},
	})
	write(t, filepath.Join(m.Mnt, "a"), "hello")
	write(t, filepath.Join(m.Mnt, "sub dir"), "world")
	m.Sync(t)
	st := m.Status(t)

	bars := waitHookRuns(t, dir, "barrier", func(r []hookRun) bool { return len(r) > 0 })
	b := bars[len(bars)-1].env
	seq, _ := strconv.ParseUint(b["MIRRORFS_SEQ"], 10, 64)
	if b["MIRRORFS_EVENT"] != "barrier" || seq == 0 || b["MIRRORFS_MOUNTPOINT"] != m.Mnt || b["MIRRORFS_DEST"] != st.str("name") {
		t.Errorf("barrier hook environment: %v (want event barrier, a seq, mountpoint %s, dest %s)", b, m.Mnt, st.str("name"))
	}
	if _, err := time.Parse(time.RFC3339, b["MIRRORFS_TIME"]); err != nil {
		t.Errorf("MIRRORFS_TIME %q: %v", b["MIRRORFS_TIME"], err)
	}

	seen := map[string]bool{}
	var bytes int64
	runs := waitHookRuns(t, dir, "batch", func(rs []hookRun) bool {
		seen, bytes = map[string]bool{}, 0
		for _, r := range rs {
			for _, p := range r.paths {
				seen[p] = true
			}
			n, _ := strconv.ParseInt(r.env["MIRRORFS_BYTES"], 10, 64)
			bytes += n
		}
		return seen["a"] && seen["sub dir"]
	})
	for _, r := range runs {
		e := r.env
		if e["MIRRORFS_EVENT"] != "batch" || e["MIRRORFS_BATCH"] == "0" || e["MIRRORFS_COUNT"] != strconv.Itoa(len(r.paths)) {
			t.Errorf("batch hook environment %v with paths %q", e, r.paths)
		}
		for k, v := range e {
			if strings.Contains(v, secret) || k == "RSYNC_PASSWORD" {
				t.Errorf("a hook sees the password in %s", k)
			}
		}
	}
	if bytes <= 0 {
		t.Errorf("batch hooks report %d bytes sent in all", bytes)
	}
	t.Logf("%d batch hook run(s), %d barrier run(s)", len(runs), len(bars))

	// A completed full sync is a barrier too.
	before := len(bars)
	if out, errOut, code := m.cli(t, "sync", "--full", "--wait", m.Mnt); code != 0 {
		t.Fatalf("sync --full --wait: exit %d: %s%s", code, out, errOut)
	}
	waitHookRuns(t, dir, "barrier", func(r []hookRun) bool { return len(r) > before })
}

func TestHookTimeoutKillsIt(t *testing.T) {
	testkit.Require(t, "/bin/sh", "sleep")
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	// $$ is the hook's shell, which leads its own process group (setsid);
	// the background sleep is a member of that group.
	hang := fmt.Sprintf(`echo $$ >> %s; sleep 1000 & sleep 1000`, pids)
	m := mountMirror(t, mountOptions{Args: []string{"--on-batch", hang, "--hook-timeout", "1s"}})
	start := time.Now()
	for i := range 3 {
		write(t, filepath.Join(m.Mnt, fmt.Sprintf("f%d", i)), "x")
		m.Sync(t) // shipping goes on while the hook hangs
	}
	t.Logf("3 writes synced in %v while batch hooks hung (hook-timeout 1s)", time.Since(start).Round(time.Millisecond))
	for i := range 3 {
		if !exists(t, filepath.Join(m.Daemon.Dir, fmt.Sprintf("f%d", i))) {
			t.Errorf("f%d not on the module", i)
		}
	}
	testkit.Eventually(t, syncTimeout, func() (bool, string) {
		return strings.Contains(m.logText(), "hook timed out"), "a logged hook timeout"
	})
	data, _ := os.ReadFile(pids)
	groups := strings.Fields(string(data))
	if len(groups) == 0 {
		t.Fatal("the hook never ran")
	}
	for _, g := range groups[:1] {
		pgid, _ := strconv.Atoi(g)
		testkit.Eventually(t, 10*time.Second, func() (bool, string) {
			live := liveInGroup(pgid)
			return len(live) == 0, fmt.Sprintf("process group %d of the timed-out hook gone; alive: %v", pgid, live)
		})
	}
	// Hooks still queued or running at unmount never outlive mirrorfs.
	if out, code := m.Unmount(t); code != 0 {
		t.Fatalf("unmount: exit %d: %s", code, out)
	}
	m.Wait(t)
	data, _ = os.ReadFile(pids)
	for _, g := range strings.Fields(string(data)) {
		pgid, _ := strconv.Atoi(g)
		if len(liveInGroup(pgid)) > 0 {
			t.Errorf("process group %d of a hook outlived mirrorfs: %v", pgid, liveInGroup(pgid))
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}
}

func TestHookOnError(t *testing.T) {
	dir := t.TempDir()
	hook := hookScript(t, dir)
	m := mountMirror(t, mountOptions{Args: []string{"--on-error", hook, "--timeout", "2s", "--contimeout", "2s"}})
	m.Daemon.Stop()
	t.Cleanup(m.Daemon.Start)
	write(t, filepath.Join(m.Mnt, "during-outage"), "x")
	runs := waitHookRuns(t, dir, "error", func(r []hookRun) bool { return len(r) > 0 })
	e := runs[0].env
	if e["MIRRORFS_EVENT"] != "error" || e["MIRRORFS_ERROR"] == "" || e["MIRRORFS_MOUNTPOINT"] != m.Mnt {
		t.Errorf("error hook environment: %v", e)
	}
	t.Logf("error hook saw MIRRORFS_ERROR=%q", e["MIRRORFS_ERROR"])
	m.Daemon.Start()
	m.assertMirrored(t, testkit.CompareOptions{})
}

// liveInGroup lists the processes of group pgid that are not zombies: a
// killed hook's children are reparented to PID 1, which in a container
// may never reap them, so kill(-pgid, 0) alone would see them forever.
func liveInGroup(pgid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var live []int
	for _, f := range stats {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces and parens.
		i := strings.LastIndexByte(string(data), ')')
		fields := strings.Fields(string(data[i+1:]))
		if len(fields) < 3 || fields[0] == "Z" || fields[2] != strconv.Itoa(pgid) {
			continue
		}
		pid, _ := strconv.Atoi(strings.Fields(string(data))[0])
		live = append(live, pid)
	}
	return live
}

// TestHookOnStuck: a file rsync cannot read runs on-stuck with its path
// and rsync's error, and the stuck gauge counts it as status does.
func TestHookOnStuck(t *testing.T) {
	dir := t.TempDir()
	hook := hookScript(t, dir)
	port := freeTCPPort(t)
	m := mountMirror(t, mountOptions{Args: []string{"--rsync", unprivilegedRsync(t), "--on-stuck", hook,
		"--metrics-listen", strconv.Itoa(port)}})
	write(t, m.Mnt+"/readable", "r")
	must(t, os.WriteFile(m.Mnt+"/secret", []byte("root only"), 0o600))
	must(t, os.Chmod(m.Mnt+"/secret", 0o600))
	if code, stderr := m.SyncCode(t, 30*time.Second); code == 0 {
		t.Fatalf("sync --wait returned 0 although secret cannot be read: %s", stderr)
	}
	runs := waitHookRuns(t, dir, "stuck", func(r []hookRun) bool { return len(r) > 0 })
	r := runs[0]
	if len(r.paths) != 1 || r.paths[0] != "secret" || !strings.Contains(r.env["MIRRORFS_ERROR"], "Permission denied") || r.env["MIRRORFS_COUNT"] != "1" {
		t.Errorf("stuck hook: paths %q, environment %v", r.paths, r.env)
	}
	st := m.Status(t)
	f := parseMetrics(t, scrape(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/metrics", port)))
	if got := f.value(t, "mirrorfs_stuck_paths", m.Mnt, st.str("name")); got != st.num("stuck_count") || got != 1 {
		t.Errorf("mirrorfs_stuck_paths = %v, status stuck_count %v, want 1", got, st.num("stuck_count"))
	}
	must(t, os.Chmod(m.Mnt+"/secret", 0o644))
	m.assertMirrored(t, testkit.CompareOptions{})
	if n := len(hookRuns(t, dir, "stuck")); n != 1 {
		t.Errorf("%d stuck hook runs, want 1: a path is reported when it becomes stuck, not at every retry", n)
	}
}
