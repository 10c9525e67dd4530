package hooks

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mirrorfs/mirrorfs/mirror"
)

// shell runs every hook: the command line is the user's, as in cron.
const shell = "/bin/sh"

// maxStderr bounds what is kept of a hook's standard error.
const maxStderr = 4096

// run runs the hook of ev and waits for it, at most the timeout.
func (r *Runner) run(ev mirror.Event) {
	name := "on-" + string(ev.Kind)
	ctx, cancel := context.WithTimeout(r.stop, r.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, shell, "-c", r.cfg.Commands[ev.Kind])
	// A session of its own: the timeout kills the hook and everything it
	// started. Pdeathsig: it dies with mirrorfs (see work).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second // a child that keeps our pipes open cannot hold us
	cmd.Env = Env(ev, r.cfg.Mountpoint)
	cmd.Stdin = bytes.NewReader(pathsInput(ev.Paths))
	stderr := &capped{max: maxStderr}
	cmd.Stderr = stderr
	cmd.Dir = "/"
	start := time.Now()
	err := cmd.Start()
	if err != nil {
		r.log.Warn("hook could not start", "hook", name, "err", err)
		return
	}
	err = cmd.Wait()
	// The hook is done when its shell is: what it left in its group goes
	// too, so nothing it started outlives mirrorfs.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		r.log.Warn("hook timed out: killed it and its process group", "hook", name, "timeout", r.cfg.Timeout, "pid", cmd.Process.Pid)
	case r.stop.Err() != nil:
		r.log.Warn("hook killed at exit", "hook", name, "pid", cmd.Process.Pid)
	case errors.Is(err, exec.ErrWaitDelay):
		r.log.Warn("hook exited but left processes holding its output: killed them (start what must outlive a hook with setsid)", "hook", name, "took", took)
	case err != nil:
		r.log.Warn("hook failed", "hook", name, "err", err, "stderr", stderr.firstLine(), "took", took)
	default:
		r.log.Debug("hook ran", "hook", name, "took", took)
	}
}

// pathsInput is the hook's standard input: each path followed by a NUL,
// as find -print0 writes them (a path may hold a newline).
func pathsInput(paths []string) []byte {
	var b bytes.Buffer
	for _, p := range paths {
		b.WriteString(p)
		b.WriteByte(0)
	}
	return b.Bytes()
}

// ours are the variables a hook gets from us; inherited values of them
// (and the rsync password) are dropped.
var ours = []string{"MIRRORFS_EVENT", "MIRRORFS_MOUNTPOINT", "MIRRORFS_DEST", "MIRRORFS_BATCH", "MIRRORFS_COUNT",
	"MIRRORFS_BYTES", "MIRRORFS_ERROR", "MIRRORFS_SEQ", "MIRRORFS_TIME", "MIRRORFS_PATHS_TRUNCATED"}

// Env is the environment of ev's hook: mirrorfs's own, without
// RSYNC_PASSWORD, plus the event.
func Env(ev mirror.Event, mountpoint string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "RSYNC_PASSWORD" || slices.Contains(ours, k) {
			continue
		}
		env = append(env, kv)
	}
	truncated := "0"
	if ev.Count > len(ev.Paths) {
		truncated = "1"
	}
	return append(env,
		"MIRRORFS_EVENT="+string(ev.Kind),
		"MIRRORFS_MOUNTPOINT="+mountpoint,
		"MIRRORFS_DEST="+ev.Dest,
		"MIRRORFS_BATCH="+strconv.FormatUint(ev.Batch, 10),
		"MIRRORFS_COUNT="+strconv.Itoa(ev.Count),
		"MIRRORFS_BYTES="+strconv.FormatInt(ev.Bytes, 10),
		"MIRRORFS_ERROR="+ev.Error,
		"MIRRORFS_SEQ="+strconv.FormatUint(ev.Seq, 10),
		"MIRRORFS_TIME="+ev.Time.Format(time.RFC3339),
		"MIRRORFS_PATHS_TRUNCATED="+truncated,
	)
}

// capped keeps the first max bytes written to it.
type capped struct {
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) firstLine() string {
	line, _, _ := strings.Cut(strings.TrimSpace(c.buf.String()), "\n")
	return line
}
