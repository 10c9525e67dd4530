package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/config"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
)

// readyFDEnv marks the detached child and names the descriptor on which it
// reports readiness to the parent that mount(8) waits for.
const readyFDEnv = "MIRRORFS_READY_FD"

// daemon is the running side of a mount: this process, attached or detached.
type daemon struct {
	detached bool
	ready    *os.File // detached: the pipe to the waiting parent
	log      *slog.Logger
}

// daemonize decides where the mount runs. It returns a nil daemon when this
// process is done: mount -f (fake), or the parent of a detached mount, which
// returns the child's readiness report as its own result.
func daemonize(c *cli.Context, cfg config.Config) (*daemon, error) {
	if c.Bool(fakeFlag) {
		return nil, nil // mount -f: options checked, nothing to mount
	}
	if fd := os.Getenv(readyFDEnv); fd != "" {
		return detachedChild(fd, cfg)
	}
	if c.Bool(helperFlag) && !cfg.Foreground {
		return nil, detach(cfg, c.App.ErrWriter)
	}
	return &daemon{}, nil
}

// detach starts this same command again in a new session, with stdio on
// /dev/null or the log file, and waits for its one-line readiness report:
// "ok" once the mount is usable, or the child's exit code and error.
func detach(cfg config.Config, stderr io.Writer) error {
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return withCode(exitcode.Internal, err)
	}
	defer devnull.Close()
	out := devnull
	if cfg.LogFile != "" {
		f, err := openLogFile(cfg.LogFile)
		if err != nil {
			return withCode(exitcode.Usage, err)
		}
		defer f.Close()
		out = f
	} else if !syslogAvailable() {
		fmt.Fprintf(stderr, "mirrorfs: warning: no syslog socket at %s and no log-file option: the log of the background mirrorfs is discarded (add -o log-file=FILE)\n", syslogSocket)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return withCode(exitcode.Internal, fmt.Errorf("cannot create the readiness pipe: %w", err))
	}
	defer r.Close()
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        os.Args, // the same argv[0]: the child parses exactly what we parsed
		Env:         append(os.Environ(), readyFDEnv+"=3"),
		Stdin:       devnull,
		Stdout:      out,
		Stderr:      out,
		ExtraFiles:  []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return withCode(exitcode.Internal, fmt.Errorf("cannot start the background mirrorfs: %w", err))
	}
	line, _ := bufio.NewReader(io.LimitReader(r, 64<<10)).ReadString('\n')
	line = strings.TrimSuffix(line, "\n")
	if line == "ok" {
		cmd.Process.Release() // it serves on; mount(8) may return
		return nil
	}
	state, werr := cmd.Process.Wait()
	if code, msg, ok := parseReadyError(line); ok {
		return codef(code, "%s", msg)
	}
	where := "see the syslog"
	if cfg.LogFile != "" {
		where = "see " + cfg.LogFile
	}
	if werr != nil {
		return codef(exitcode.Internal, "background mirrorfs failed before the mount was ready: %v (%s, or mount with -o foreground)", werr, where)
	}
	code := state.ExitCode()
	if code <= 0 {
		code = exitcode.Internal
	}
	return codef(code, "background mirrorfs ended (%s) before the mount was ready (%s, or mount with -o foreground)", state, where)
}

// detachedChild sets up the child side: the readiness pipe, a working
// directory that pins no filesystem, and absolute paths for what is opened
// later.
func detachedChild(fd string, cfg config.Config) (*daemon, error) {
	os.Unsetenv(readyFDEnv)
	n, err := strconv.Atoi(fd)
	if err != nil || n < 3 {
		return nil, codef(exitcode.Internal, "%s=%q: not a descriptor number", readyFDEnv, fd)
	}
	unix.CloseOnExec(n) // rsync and other children must not hold the parent waiting
	d := &daemon{detached: true, ready: os.NewFile(uintptr(n), "readiness pipe")}
	if err := os.Chdir("/"); err != nil {
		return nil, d.reportReady(withCode(exitcode.Internal, err))
	}
	return d, nil
}

// logger opens the process log: log-file, syslog, or stderr. Detached
// without log-file, syslog is the default.
func (d *daemon) logger(cfg config.Config, stderr io.Writer) (*slog.Logger, error) {
	var err error
	switch {
	case cfg.LogFile != "":
		var f *os.File
		if f, err = openLogFile(cfg.LogFile); err == nil {
			d.log = newLogger(cfg.LogLevel, f)
		}
	case cfg.Syslog || d.detached && syslogAvailable():
		var h slog.Handler
		if h, err = newSyslogHandler(cfg.LogLevel); err == nil {
			d.log = slog.New(h)
		}
	default:
		d.log = newLogger(cfg.LogLevel, stderr)
	}
	if err != nil {
		return nil, d.reportReady(withCode(exitcode.Usage, err))
	}
	return d.log, nil
}

// reportReady hands setup's outcome to whoever waits for it: the parent of
// a detached mount, and systemd (Type=notify). It returns err.
func (d *daemon) reportReady(err error) error {
	if err == nil {
		if notifyErr := sdNotify("READY=1"); notifyErr != nil && d.log != nil {
			d.log.Warn("cannot tell systemd the mount is ready", "err", notifyErr)
		}
	} else if d.detached && d.log != nil {
		d.log.Error("mount failed", "err", err)
	}
	if d.ready == nil {
		return err
	}
	msg := "ok\n"
	if err != nil {
		msg = formatReadyError(err)
	}
	if _, werr := io.WriteString(d.ready, msg); werr != nil && d.log != nil {
		d.log.Warn("cannot report readiness to the waiting mount command", "err", werr)
	}
	d.ready.Close()
	d.ready = nil
	return err
}

// exit logs how a detached daemon ends: nobody else sees its exit status.
func (d *daemon) exit(err error) error {
	if d.detached && err != nil && d.log != nil {
		d.log.Error("exiting", "err", err)
	}
	return err
}

// formatReadyError writes "CODE MESSAGE\n", the message on one line as
// report() prints it.
func formatReadyError(err error) string {
	code := exitcode.Internal
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
	return fmt.Sprintf("%d %s\n", code, msg)
}

func parseReadyError(line string) (code int, msg string, ok bool) {
	c, msg, found := strings.Cut(line, " ")
	code, err := strconv.Atoi(c)
	if !found || err != nil || code <= 0 || msg == "" {
		return 0, "", false
	}
	return code, msg, true
}

func openLogFile(path string) (*os.File, error) {
	if !filepath.IsAbs(path) {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("log-file %q: %w", path, err)
		}
		path = abs
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("cannot open log-file: %w (give a writable file, e.g. -o log-file=/var/log/mirrorfs.log)", err)
	}
	return f, nil
}
