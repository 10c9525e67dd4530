package mirror

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// result is what one rsync process left behind.
type result struct {
	code      int // -1: killed or could not start
	stdout    []byte
	stderr    []byte
	bytesSent int64
	startErr  error
	stalled   time.Duration // killed by the watchdog after this long without progress
	blocked   string        // killed while it hung opening this path (as rsync named it)
}

// childEnv passes RSYNC_PASSWORD through only when no password file is set,
// so exactly one source of the password is in play.
func childEnv(cfg *Config) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "RSYNC_PASSWORD=") && cfg.PasswordFile != "" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// execRsync runs rsync with the backing directory as fd 3; it is killed
// (with its children) when ctx ends, or when it makes no progress for
// stall (0: never; see watchdog.go).
func execRsync(ctx context.Context, cfg *Config, args []string, stdin []byte, stall time.Duration) result {
	return execRsyncFd(ctx, cfg, args, stdin, stall, nil)
}

// execRsyncFd is execRsync with extra, when set, as the child's fd 4.
func execRsyncFd(ctx context.Context, cfg *Config, args []string, stdin []byte, stall time.Duration, extra *os.File) result {
	args, removeRules, xerr := cfg.Exclude.treeArgs(cfg.Source, args, stdin)
	if xerr != nil {
		return result{code: -2, startErr: xerr}
	}
	defer removeRules()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(runCtx, cfg.RsyncPath, args...)
	cmd.Dir = "/" // never inside a mount we may be serving
	cmd.Env = childEnv(cfg)
	if cfg.Source != nil {
		cmd.ExtraFiles = []*os.File{cfg.Source}
		if extra != nil {
			cmd.ExtraFiles = append(cmd.ExtraFiles, extra)
		}
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A new session: no controlling terminal to prompt for a password on,
	// and a process group to kill as a whole.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	closeOnExecAll()
	err := cmd.Start()
	stalled := make(chan bool, 1)
	if err == nil {
		if stall > 0 {
			go func() {
				s := watchStall(runCtx, cmd.Process.Pid, stall)
				if s {
					cfg.Logger.Warn("rsync made no progress (no data read or written but keep-alives): killing it; the batch stays queued and is retried",
						"stalled_for", stall, "pid", cmd.Process.Pid, "dest", cfg.Dest.String())
					cancel()
				}
				stalled <- s
			}()
		} else {
			stalled <- false
		}
		err = cmd.Wait()
		cancel()
	} else {
		stalled <- false
	}
	r := result{stdout: stdout.Bytes(), stderr: stderr.Bytes()}
	var ee *exec.ExitError
	switch {
	case err == nil: // finished as the watchdog fired: a success all the same
	case <-stalled:
		r.code, r.stalled = -1, stall
	case ctx.Err() != nil:
		r.code = -1
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		r.code, r.startErr = -2, err
	}
	r.bytesSent = statNumber(r.stdout, "Total bytes sent")
	return r
}

var statRE = regexp.MustCompile(`(?m)^([A-Za-z ]+): ([0-9,]+)`)

func statNumber(out []byte, name string) int64 {
	for _, m := range statRE.FindAllSubmatch(out, -1) {
		if string(m[1]) == name {
			n, _ := strconv.ParseInt(strings.ReplaceAll(string(m[2]), ",", ""), 10, 64)
			return n
		}
	}
	return 0
}
