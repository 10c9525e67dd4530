package testkit

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// DaemonOptions configures StartDaemon. The zero value gives the article's
// set-up: module "backup", user "rsyncuser", a fresh module directory.
// DefaultPassword is the module password when DaemonOptions sets none.
const DefaultPassword = "pw-Vq7kXz-mirrorfs-test"

type DaemonOptions struct {
	Module string // default "backup"
	User   string // default "rsyncuser"
	// Password defaults to a string no status, log or metrics output can
	// hold by chance: the article's "123" turns up in any port, PID or
	// byte count, and the tests that look for a leaked password failed on
	// that.
	Password string
	// Dir is the module path. Default: a new directory under t.TempDir().
	// Pass a small tmpfs here to provoke disk-full errors.
	Dir string
	// UseChroot sets "use chroot = yes". The article's "no" makes the daemon
	// sanitize symlink targets: absolute targets lose their leading "/" and
	// ".." above the module is cut off (munge symlinks = no only stops the
	// "/rsyncd-munged/" prefix). Tests of such symlinks need UseChroot.
	UseChroot bool
	// IgnoreErrors adds the article's "ignore errors" module option.
	IgnoreErrors bool
	// ExtraModule holds further "key = value" lines for the module section.
	ExtraModule []string
	// Address is where the daemon listens and "hosts allow" the client
	// address; defaults 127.0.0.1. Wrap prefixes the daemon's command line,
	// e.g. {"ip", "netns", "exec", NS} to run it in a network namespace.
	Address, HostsAllow string
	Wrap                []string
}

// Daemon is a running (or stopped) rsync daemon on 127.0.0.1.
type Daemon struct {
	Addr         string // "127.0.0.1:PORT"
	Port         int
	Module       string
	User         string
	Password     string
	PasswordFile string // client side, mode 0600, holds Password
	Dir          string // module path
	Conf         string // rsyncd.conf
	LogFile      string // the daemon's "log file"

	t      testing.TB
	opts   DaemonOptions
	base   string
	stderr string // daemon stderr, appended across restarts
	server
}

// StartDaemon writes an rsyncd.conf like the ops article's, starts
// `rsync --daemon --no-detach` on a free 127.0.0.1 port and waits until it
// accepts connections. It is stopped by t.Cleanup.
func StartDaemon(t testing.TB, opts DaemonOptions) *Daemon {
	t.Helper()
	Require(t, "rsync")
	d := &Daemon{
		Module:   def(opts.Module, "backup"),
		User:     def(opts.User, "rsyncuser"),
		Password: def(opts.Password, DefaultPassword),
		Dir:      opts.Dir,
		t:        t,
		opts:     opts,
		base:     t.TempDir(),
	}
	if d.Dir == "" {
		d.Dir = filepath.Join(d.base, "module")
		if err := os.Mkdir(d.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	d.Conf = filepath.Join(d.base, "rsyncd.conf")
	d.LogFile = filepath.Join(d.base, "rsyncd.log")
	d.stderr = filepath.Join(d.base, "rsyncd.stderr")
	d.PasswordFile = filepath.Join(d.base, "client.pass")
	secrets := filepath.Join(d.base, "rsync.pass")

	mustWrite(t, secrets, d.User+":"+d.Password+"\n", 0o600)
	mustWrite(t, d.PasswordFile, d.Password+"\n", 0o600)
	mustWrite(t, d.Conf, d.config(secrets, opts), 0o644)

	t.Cleanup(d.Stop)
	var err error
	for range 5 { // another process may grab the port between probe and bind
		if d.Port, err = freePort(); err != nil {
			t.Fatal(err)
		}
		d.Addr = net.JoinHostPort(def(opts.Address, "127.0.0.1"), strconv.Itoa(d.Port))
		if err = d.start(); err == nil {
			return d
		}
	}
	t.Fatalf("rsync daemon did not start: %v\n%s", err, d.Log())
	return nil
}

func (d *Daemon) config(secrets string, opts DaemonOptions) string {
	var b strings.Builder
	// Global section: the article's, with every file inside the test dir.
	// use chroot = no would munge symlink targets without munge symlinks = no.
	chroot := "no"
	if opts.UseChroot {
		chroot = "yes"
	}
	fmt.Fprintf(&b, `uid = root
gid = root
use chroot = %s
munge symlinks = no
max connections = 0
reverse lookup = no
hosts allow = %s
log file = %s
pid file = %s
lock file = %s
exclude = lost+found/

[%s]
    path = %s
    comment = backup
    read only = no
    auth users = %s
    secrets file = %s
`, chroot, def(opts.HostsAllow, "127.0.0.1"), d.LogFile, filepath.Join(d.base, "rsyncd.pid"), filepath.Join(d.base, "rsyncd.lock"),
		d.Module, d.Dir, d.User, secrets)
	if opts.IgnoreErrors {
		b.WriteString("    ignore errors\n")
	}
	for _, l := range opts.ExtraModule {
		fmt.Fprintf(&b, "    %s\n", l)
	}
	return b.String()
}

// SSHCommand is the forced command of an authorized_keys line that runs
// this daemon's modules over ssh: `rsync --server --daemon` with the same
// configuration less what only a listening daemon has (pid and lock file).
func (d *Daemon) SSHCommand() string {
	conf := filepath.Join(d.base, "rsyncd-ssh.conf")
	var b strings.Builder
	for _, l := range strings.Split(d.config(filepath.Join(d.base, "rsync.pass"), d.opts), "\n") {
		if k, _, _ := strings.Cut(strings.TrimSpace(l), " ="); k == "pid" || k == "lock" {
			continue
		}
		b.WriteString(l + "\n")
	}
	mustWrite(d.t, conf, b.String(), 0o644)
	return "rsync --config=" + conf + " --server --daemon ."
}

// SSHDest is the module as a destination reached through ssh (rsh=ssh).
func (d *Daemon) SSHDest() string {
	return fmt.Sprintf("%s@127.0.0.1::%s", d.User, d.Module)
}

// URL is the destination as mirrorfs and rsync take it.
func (d *Daemon) URL() string {
	return fmt.Sprintf("rsync://%s@%s/%s", d.User, d.Addr, d.Module)
}

// Running reports whether the daemon process is alive.
func (d *Daemon) Running() bool { return d.running() }

// Start restarts a stopped daemon on the same port (for outage tests).
func (d *Daemon) Start() {
	d.t.Helper()
	if d.Running() {
		return
	}
	// rsync sets SO_REUSEADDR: retrying covers only a slow teardown.
	if err := restart(d.start); err != nil {
		d.t.Fatalf("restarting rsync daemon on %s: %v\n%s", d.Addr, err, d.Log())
	}
}

func (d *Daemon) start() error {
	errf, err := os.OpenFile(d.stderr, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer errf.Close()
	argv := append(append([]string{}, d.opts.Wrap...), "rsync", "--daemon", "--no-detach", "--config="+d.Conf,
		"--address="+def(d.opts.Address, "127.0.0.1"), "--port="+strconv.Itoa(d.Port))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = errf, errf
	return d.launch("rsync --daemon", cmd, d.Addr, d.kill)
}

// Stop ends the daemon and its connection handlers; the port then refuses
// connections. Stopping a stopped daemon is a no-op.
func (d *Daemon) Stop() {
	if !d.Running() {
		return
	}
	d.kill()
}

func (d *Daemon) kill() {
	pgid := d.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-d.exited
	}
	// Connection handlers may outlive the parent; wait until the group is
	// gone so the module directory is no longer in use (e.g. a tmpfs can be
	// unmounted right after Stop).
	syscall.Kill(-pgid, syscall.SIGKILL)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if err := syscall.Kill(-pgid, 0); err == syscall.ESRCH {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Log returns the daemon's log file and stderr, for failure messages.
func (d *Daemon) Log() string {
	var b strings.Builder
	for _, f := range []string{d.LogFile, d.stderr} {
		data, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(&b, "(reading %s: %v)\n", f, err)
		}
		b.Write(data)
	}
	return b.String()
}

// Push copies src into the module with a plain `rsync -aHX` client, the way
// the article's users do it by hand. Extra args go before the paths.
func (d *Daemon) Push(src string, extra ...string) (string, error) {
	args := append([]string{"-aHX", "--password-file=" + d.PasswordFile}, extra...)
	args = append(args, strings.TrimSuffix(src, "/")+"/", d.URL()+"/")
	out, err := exec.Command("rsync", args...).CombinedOutput()
	return string(out), err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func def(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func mustWrite(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
