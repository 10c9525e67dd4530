package rsyncproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Spec is one child to run.
type Spec struct {
	Path  string // the program
	Args  []string
	Stdin []byte
	// ExtraFiles become the child's fd 3, 4, ...; no other descriptor of
	// this process reaches it.
	ExtraFiles []*os.File
	// DropPasswordEnv keeps RSYNC_PASSWORD out of the child's environment
	// (set it when a --password-file is passed instead).
	DropPasswordEnv bool
	// Stall kills the tree when it reads and writes no more than
	// keep-alives for this long; 0: never. A process stuck on a path is
	// killed regardless, within a few seconds.
	Stall  time.Duration
	Logger *slog.Logger // nil: no logging
	// Stdout, when set, receives the child's output as it comes, instead
	// of Result.Stdout: progress is read while the run lasts, and output
	// that is only counted need not be kept. Writes come from one
	// goroutine, possibly after Run returned (a Lingering run).
	Stdout io.Writer
}

// Result is what a child left behind.
type Result struct {
	Code           int // exit status; -1 when killed or not started
	Stdout, Stderr []byte
	StartErr       error         // it could not be started
	Cancelled      bool          // killed because ctx ended
	Stalled        time.Duration // killed after this long without I/O progress
	Blocked        *Blocked      // killed because a process in it was stuck on a path
	// Lingering: it was killed but had not exited when Run stopped waiting
	// (a process in uninterruptible sleep); it is reaped in the background.
	Lingering bool

	ctxErr error
}

const (
	// waitDelay bounds how long output pipes held open by a descendant
	// keep Wait from returning once the child has exited or was killed.
	waitDelay = 5 * time.Second
	// lingerAfter is how long Run waits for a killed tree to exit.
	lingerAfter = waitDelay + 5*time.Second
)

// Run starts the child and waits for it. It returns when the child exits,
// or, once the child was killed (ctx ended, no progress, stuck on a path),
// when it exited or lingerAfter passed. The child's whole process group is
// killed on the way out, so no descendant outlives the run.
func Run(ctx context.Context, s Spec) Result {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(runCtx, s.Path, s.Args...)
	cmd.Dir = "/" // never inside a mount we may be serving
	cmd.Env = Env(s.DropPasswordEnv)
	cmd.ExtraFiles = s.ExtraFiles
	cmd.Stdin = bytes.NewReader(s.Stdin)
	var stdout, stderr buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if s.Stdout != nil {
		cmd.Stdout = s.Stdout
	}
	// A new session: no controlling terminal to prompt for a password on,
	// and a process group to kill as a whole. Pdeathsig: see spawn.go.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	g := &group{cmd: cmd}
	cmd.Cancel = g.kill
	cmd.WaitDelay = waitDelay
	if err := start(cmd); err != nil {
		return Result{Code: -1, StartErr: fmt.Errorf("start %s: %w", s.Path, err), Cancelled: ctx.Err() != nil, ctxErr: ctx.Err()}
	}
	pid := cmd.Process.Pid

	verdicts := make(chan verdict, 1)
	go func() {
		v := watch(runCtx, pid, s.Stall, openGrace)
		switch {
		case v.blocked != nil:
			b := v.blocked
			log.Warn("rsync is stuck on a path: killing it", "pid", b.PID, "syscall", b.Syscall, "path", b.Path, "wchan", b.Wchan, "stuck_for", b.For)
			cancel()
		case v.stalled > 0:
			log.Warn("rsync made no progress (no data read or written but keep-alives): killing it", "pid", pid, "stalled_for", v.stalled)
			cancel()
		}
		verdicts <- v
	}()
	exited := make(chan error, 1)
	go func() {
		g.reapGroup()
		exited <- cmd.Wait()
	}()

	var err error
	lingering := false
	killed, giveUp := runCtx.Done(), (<-chan time.Time)(nil)
wait:
	for {
		select {
		case err = <-exited:
			break wait
		case <-killed:
			killed, giveUp = nil, time.After(lingerAfter)
		case <-giveUp:
			lingering = true
			log.Error("killed rsync has not exited; no longer waiting for it", "pid", pid)
			break wait
		}
	}
	cancel()
	v := <-verdicts
	r := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Lingering: lingering}
	var ee *exec.ExitError
	switch {
	case lingering:
		r.Code = -1
	case err == nil:
		return r // it finished as it was being killed: a success all the same
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case cmd.ProcessState != nil: // exited, but a descendant outside the group held its output
		r.Code = cmd.ProcessState.ExitCode()
		if r.Code == 0 {
			return r
		}
	default:
		r.Code = -1
	}
	switch {
	case v.blocked != nil:
		r.Blocked = v.blocked
	case v.stalled > 0:
		r.Stalled = v.stalled
	case ctx.Err() != nil:
		r.Cancelled, r.ctxErr = true, ctx.Err()
	}
	return r
}
