package hooks

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
	"github.com/mirrorfs/mirrorfs/mirror"
)

func newRunner(t *testing.T, cmds map[mirror.EventKind]string, timeout time.Duration, queue int) *Runner {
	t.Helper()
	testkit.Require(t, "/bin/sh", "sleep", "env", "cat")
	r := New(Config{Commands: cmds, Timeout: timeout, Mountpoint: "/mnt/m", Queue: queue, Log: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r.Close(ctx)
	})
	return r
}

func waitFile(t *testing.T, path string) string {
	t.Helper()
	var data []byte
	eventually(t, 10*time.Second, func() bool {
		var err error
		data, err = os.ReadFile(path)
		return err == nil && strings.HasSuffix(string(data), "END\n")
	}, "hook output "+path)
	return string(data)
}

func eventually(t *testing.T, d time.Duration, cond func() bool, what string) {
	t.Helper()
	testkit.Eventually(t, d, func() (bool, string) { return cond(), what })
}

func TestHookEnvironmentAndStdin(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	t.Setenv("RSYNC_PASSWORD", "sekrit")
	t.Setenv("MIRRORFS_BATCH", "inherited")
	r := newRunner(t, map[mirror.EventKind]string{
		mirror.EventBatch: fmt.Sprintf(`cat > %s.in; { env; echo END; } > %s`, out, out),
	}, 10*time.Second, 0)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r.Handle(mirror.Event{Kind: mirror.EventBatch, Time: at, Dest: "d1", Batch: 7, Paths: []string{"a", "b\nc"}, Count: 3, Bytes: 99})
	got := waitFile(t, out)
	for _, want := range []string{
		"MIRRORFS_EVENT=batch\n", "MIRRORFS_MOUNTPOINT=/mnt/m\n", "MIRRORFS_DEST=d1\n", "MIRRORFS_BATCH=7\n",
		"MIRRORFS_COUNT=3\n", "MIRRORFS_BYTES=99\n", "MIRRORFS_TIME=2026-01-02T03:04:05Z\n",
		"MIRRORFS_PATHS_TRUNCATED=1\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("hook output lacks %q:\n%s", want, got)
		}
	}
	if in, _ := os.ReadFile(out + ".in"); string(in) != "a\x00b\nc\x00" {
		t.Errorf("stdin %q, want the paths NUL-terminated", in)
	}
	for _, bad := range []string{"sekrit", "inherited"} {
		if strings.Contains(got, bad) {
			t.Errorf("hook saw %q:\n%s", bad, got)
		}
	}
}

func TestHookTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidf, after := filepath.Join(dir, "pid"), filepath.Join(dir, "after")
	r := newRunner(t, map[mirror.EventKind]string{
		// The background sleep is in the hook's group: it must go too.
		mirror.EventError:   fmt.Sprintf(`sleep 1000 & echo $! > %s; sleep 1000`, pidf),
		mirror.EventBarrier: fmt.Sprintf(`echo END > %s`, after),
	}, time.Second, 0)
	start := time.Now()
	r.Handle(mirror.Event{Kind: mirror.EventError, Error: "down"})
	r.Handle(mirror.Event{Kind: mirror.EventBarrier, Seq: 3})
	waitFile(t, after)
	t.Logf("the hook after a hanging one ran %v after it was queued (timeout 1s)", time.Since(start).Round(time.Millisecond))
	data, err := os.ReadFile(pidf)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	eventually(t, 5*time.Second, func() bool {
		return gone(pid)
	}, fmt.Sprintf("background child %d of the timed-out hook gone", pid))
}

func TestHooksRunInOrderOneAtATimeAndCoalesce(t *testing.T) {
	dir := t.TempDir()
	log, gate := filepath.Join(dir, "log"), filepath.Join(dir, "gate")
	// Each run appends start and end; overlapping runs would interleave.
	hook := fmt.Sprintf(`echo "start $MIRRORFS_EVENT $MIRRORFS_SEQ" >> %[1]s; while [ ! -e %[2]s ]; do sleep 0.05; done; echo "end $MIRRORFS_EVENT $MIRRORFS_SEQ" >> %[1]s`, log, gate)
	r := newRunner(t, map[mirror.EventKind]string{mirror.EventBarrier: hook, mirror.EventStuck: hook}, 20*time.Second, 2)
	r.Handle(mirror.Event{Kind: mirror.EventBarrier, Seq: 1})
	eventually(t, 5*time.Second, func() bool { _, err := os.Stat(log); return err == nil }, "first hook started")
	// While the first runs: the queue of barrier holds 2, so 2 is dropped.
	r.Handle(mirror.Event{Kind: mirror.EventBarrier, Seq: 2})
	r.Handle(mirror.Event{Kind: mirror.EventStuck, Seq: 3})
	r.Handle(mirror.Event{Kind: mirror.EventBarrier, Seq: 4})
	r.Handle(mirror.Event{Kind: mirror.EventBarrier, Seq: 5})
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.Close(ctx)
	data, _ := os.ReadFile(log)
	want := "start barrier 1\nend barrier 1\nstart stuck 3\nend stuck 3\nstart barrier 4\nend barrier 4\nstart barrier 5\nend barrier 5\n"
	if string(data) != want {
		t.Errorf("hook runs:\n%s\nwant:\n%s", data, want)
	}
}

func TestCloseKillsRunningHookAtDeadline(t *testing.T) {
	dir := t.TempDir()
	pidf := filepath.Join(dir, "pid")
	r := newRunner(t, map[mirror.EventKind]string{mirror.EventBatch: fmt.Sprintf(`echo $$ > %s; sleep 1000`, pidf)}, time.Hour, 0)
	r.Handle(mirror.Event{Kind: mirror.EventBatch})
	r.Handle(mirror.Event{Kind: mirror.EventBatch})
	eventually(t, 5*time.Second, func() bool { _, err := os.Stat(pidf); return err == nil }, "hook started")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	r.Close(ctx)
	data, _ := os.ReadFile(pidf)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if pid <= 0 || !gone(pid) {
		t.Errorf("hook %d still alive after Close", pid)
	}
	r.Handle(mirror.Event{Kind: mirror.EventBatch}) // after Close: ignored, no panic
}

// gone reports a process dead: no such pid, or a zombie (a killed hook's
// children go to PID 1, which in a container may never reap them).
func gone(pid int) bool {
	if syscall.Kill(pid, 0) == syscall.ESRCH {
		return true
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(data), ')')
	f := strings.Fields(string(data[i+1:]))
	return len(f) > 0 && f[0] == "Z"
}

func TestHookLeftoversAreKilled(t *testing.T) {
	dir := t.TempDir()
	pidf, next := filepath.Join(dir, "pid"), filepath.Join(dir, "next")
	r := newRunner(t, map[mirror.EventKind]string{
		mirror.EventBatch:   fmt.Sprintf(`sleep 1000 & echo $! > %s`, pidf),
		mirror.EventBarrier: fmt.Sprintf(`echo END > %s`, next),
	}, 20*time.Second, 0)
	r.Handle(mirror.Event{Kind: mirror.EventBatch})
	r.Handle(mirror.Event{Kind: mirror.EventBarrier})
	waitFile(t, next)
	data, _ := os.ReadFile(pidf)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	eventually(t, 5*time.Second, func() bool { return pid > 0 && gone(pid) }, fmt.Sprintf("leftover %d of a finished hook killed", pid))
}

func TestEveryKindRunsItsOwnHook(t *testing.T) {
	dir := t.TempDir()
	cmds := map[mirror.EventKind]string{}
	for _, k := range Kinds {
		cmds[k] = fmt.Sprintf(`echo "$MIRRORFS_EVENT END" > %s/%s`, dir, k)
	}
	r := newRunner(t, cmds, 10*time.Second, 0)
	for _, k := range Kinds {
		r.Handle(mirror.Event{Kind: k})
	}
	for _, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			if got := waitFile(t, filepath.Join(dir, string(k))); got != string(k)+" END\n" {
				t.Errorf("on-%s wrote %q", k, got)
			}
		})
	}
}
