package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// helperRoute is how mount(8) finds mirrorfs for an fstab entry.
type helperRoute int

const (
	// viaMountFuse3 uses the "fuse" type with mount.fuse3's "PROGRAM#SOURCE"
	// source: mount.fuse3 runs `PROGRAM SOURCE MOUNTPOINT -o OPTS`, exactly
	// as it does for fuse.mirrorfs, but from a path of our choosing.
	// mount(8) runs helpers without PATH, so a fuse.mirrorfs entry could
	// only find a mirrorfs installed in the shell's default PATH.
	viaMountFuse3 helperRoute = iota
	// viaSbinLink installs /sbin/mount.fuse.mirrorfs-e2e-RANDOM, a link to
	// the binary under test, for the type fuse.mirrorfs-e2e-RANDOM: the
	// mount(8) helper protocol of /sbin/mount.fuse.mirrorfs under a name
	// no installation can own. Removed by t.Cleanup.
	viaSbinLink
)

// fstabEntry describes one line of an alternative fstab.
type fstabEntry struct {
	Route   helperRoute
	Source  string // first field; the mountpoint for an in-place entry
	Mnt     string
	Options string // the fourth field
}

// writeFstab writes the entry to a file of its own and returns its path.
func writeFstab(t *testing.T, e fstabEntry) string {
	t.Helper()
	spec, fstype := e.Source, "fuse"
	switch e.Route {
	case viaMountFuse3:
		spec = mirrorfsBin + "#" + e.Source
	case viaSbinLink:
		fstype = "fuse." + sbinHelper(t)
	}
	line := fmt.Sprintf("%s %s %s %s 0 0\n", fstabEscape(spec), fstabEscape(e.Mnt), fstype, e.Options)
	path := filepath.Join(t.TempDir(), "fstab")
	must(t, os.WriteFile(path, []byte("# written by "+t.Name()+"\n"+line), 0o644))
	t.Logf("fstab: %s", line)
	return path
}

// sbinHelper links /sbin/mount.fuse.NAME to the binary under test and
// returns NAME, unique to this test.
func sbinHelper(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "mirrorfs-e2e-" + hex.EncodeToString(b)
	link := filepath.Join("/sbin", "mount.fuse."+name)
	if err := os.Symlink(mirrorfsBin, link); err != nil {
		if errors.Is(err, syscall.EROFS) {
			t.Skipf("/sbin is read-only, cannot install the mount helper link: %v", err)
		}
		t.Fatalf("installing the mount helper link: %v", err)
	}
	t.Cleanup(func() {
		if err := os.Remove(link); err != nil {
			t.Errorf("removing %s: %v", link, err)
		}
	})
	return name
}

func fstabEscape(s string) string {
	r := strings.NewReplacer(" ", `\040`, "\t", `\011`, "\n", `\012`, `\`, `\134`)
	return r.Replace(s)
}

// helperEnv is the environment mount(8) gets: the run dir for the control
// socket, nothing else of ours.
func helperEnv(runDir string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "RSYNC_PASSWORD=") && !strings.HasPrefix(e, "MIRRORFS_") && !strings.HasPrefix(e, "NOTIFY_SOCKET=") {
			env = append(env, e)
		}
	}
	return append(env, "MIRRORFS_RUN_DIR="+runDir)
}

// runMountCmd runs a system command (mount, umount) and returns its combined
// output and exit code.
func runMountCmd(t *testing.T, env []string, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*mountTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not return within %v:\n%s", name, quoteArgs(args), 2*mountTimeout, out.String())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	}
	t.Fatalf("running %s: %v", name, err)
	return "", -1
}

// bgMirror is a mirrorfs that mount(8) started and that runs detached.
type bgMirror struct {
	Mnt    string
	Data   string // the backing directory
	Daemon *testkit.Daemon
	RunDir string
	Log    string // log-file
	State  string // state-dir: the journal, inside the test's temp tree
	PID    int
}

// fstabSetup prepares a daemon, a mountpoint, a log file and a run dir;
// separateSource adds a backing directory next to the mountpoint.
func fstabSetup(t *testing.T, separateSource bool) *bgMirror {
	t.Helper()
	requireE2E(t)
	m := &bgMirror{Daemon: testkit.StartDaemon(t, testkit.DaemonOptions{}), RunDir: t.TempDir()}
	base := t.TempDir()
	m.Mnt = filepath.Join(base, "data")
	must(t, os.Mkdir(m.Mnt, 0o755))
	m.Data = m.Mnt
	if separateSource {
		m.Data = filepath.Join(base, "src")
		must(t, os.Mkdir(m.Data, 0o755))
	}
	m.Log = filepath.Join(t.TempDir(), "mirrorfs.log")
	m.State = filepath.Join(t.TempDir(), "state")
	return m
}

// options is the fstab options field pointing at this test's daemon.
func (m *bgMirror) options(extra string) string {
	o := fmt.Sprintf("dest=%s,password-file=%s,log-file=%s,state-dir=%s", m.Daemon.URL(), m.Daemon.PasswordFile, m.Log, m.State)
	// An option may be given once: extra's own delay replaces the default.
	if !slices.ContainsFunc(strings.Split(extra, ","), func(s string) bool { return strings.HasPrefix(s, "delay=") }) {
		o += ",delay=50ms"
	}
	if extra != "" {
		o += "," + extra
	}
	return o
}

func (m *bgMirror) env() []string { return helperEnv(m.RunDir) }

// mount runs `mount -T fstab MOUNTPOINT`, requires exit 0 and a usable
// mount the moment it returns, and registers the clean-up.
func (m *bgMirror) mount(t *testing.T, fstab string) {
	t.Helper()
	t.Cleanup(func() { m.cleanup(t) })
	out, code := runMountCmd(t, m.env(), "mount", "-T", fstab, m.Mnt)
	if code != 0 {
		t.Fatalf("mount -T %s %s: exit %d:\n%s\nmirrorfs log:\n%s", fstab, m.Mnt, code, out, m.logText())
	}
	// No polling: mount returns only once the filesystem is usable.
	if fstype, err := mountType(m.Mnt); fstype != "fuse.mirrorfs" {
		t.Fatalf("mount returned 0 but %s is not a fuse.mirrorfs mount (%q, %v)\nmirrorfs log:\n%s", m.Mnt, fstype, err, m.logText())
	}
	st := m.status(t)
	pid, _ := st["pid"].(float64)
	m.PID = int(pid)
	if m.PID <= 0 || !detachedAlive(m.PID) {
		t.Fatalf("status names no running mirrorfs (pid %v): %v", st["pid"], st)
	}
}

func (m *bgMirror) status(t *testing.T) status {
	t.Helper()
	out, errOut, code := runMirrorfs(t, m.env(), "status", "--json", m.Mnt)
	if code != 0 {
		t.Fatalf("mirrorfs status --json %s: exit %d: %s\nmirrorfs log:\n%s", m.Mnt, code, errOut, m.logText())
	}
	var s status
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("mirrorfs status --json: %v\n%s", err, out)
	}
	return s
}

// waitExit waits until the detached mirrorfs is gone.
func (m *bgMirror) waitExit(t *testing.T) {
	t.Helper()
	testkit.Eventually(t, exitTimeout, func() (bool, string) {
		return !detachedAlive(m.PID), fmt.Sprintf("mirrorfs (pid %d) still running; log:\n%s", m.PID, m.logText())
	})
}

func (m *bgMirror) logText() string {
	data, err := os.ReadFile(m.Log)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return tail(string(data), 80)
}

// cleanup stops what the test left running: the clean way first, then by force.
func (m *bgMirror) cleanup(t *testing.T) {
	if m.PID > 0 && detachedAlive(m.PID) {
		if out, errOut, code := runMirrorfs(t, m.env(), "unmount", "--timeout", syncTimeout.String(), m.Mnt); code != 0 {
			t.Errorf("cleanup: mirrorfs unmount: exit %d: %s%s", code, out, errOut)
		}
		if ok, _ := testkit.Poll(exitTimeout, func() (bool, string) { return !detachedAlive(m.PID), "" }); !ok {
			t.Errorf("cleanup: mirrorfs (pid %d) still running; killing it", m.PID)
			syscall.Kill(m.PID, syscall.SIGKILL)
		}
	}
	if fstype, _ := mountType(m.Mnt); strings.HasPrefix(fstype, "fuse") {
		t.Errorf("cleanup: %s still mounted (%s); lazy unmount", m.Mnt, fstype)
		exec.Command("fusermount3", "-u", "-z", m.Mnt).Run()
	}
	if t.Failed() {
		t.Logf("mirrorfs log (%s):\n%s", m.Log, m.logText())
		t.Logf("rsync daemon log:\n%s", tail(m.Daemon.Log(), 40))
	}
}

// detachedAlive reports whether pid runs. The detached mirrorfs is nobody's
// child once mount(8) returned; a zombie (no reaper in a container) counts
// as gone.
func detachedAlive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

// waitLog waits for a line of the mirrorfs log that contains want.
func (m *bgMirror) waitLog(t *testing.T, want string) {
	t.Helper()
	testkit.Eventually(t, syncTimeout, func() (bool, string) {
		data, _ := os.ReadFile(m.Log)
		return bytes.Contains(data, []byte(want)), fmt.Sprintf("log has no %q:\n%s", want, m.logText())
	})
}

// waitInitialSync waits until the mount's initial full sync is done, so
// that later changes are what the queue holds.
func (m *bgMirror) waitInitialSync(t *testing.T) {
	t.Helper()
	testkit.Eventually(t, syncTimeout, func() (bool, string) {
		st := m.status(t)
		is, _ := st["initial_sync"].(map[string]any)
		return is["done"] == true, fmt.Sprintf("initial sync not done: %v", st["initial_sync"])
	})
}

// rsyncDaemonPID reads the pid file named in the daemon's rsyncd.conf; the
// daemon leads its own process group (with its connection handlers).
func rsyncDaemonPID(t *testing.T, d *testkit.Daemon) int {
	t.Helper()
	conf, err := os.ReadFile(d.Conf)
	must(t, err)
	for _, line := range strings.Split(string(conf), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) != "pid file" {
			continue
		}
		var pid int
		testkit.Eventually(t, mountTimeout, func() (bool, string) {
			data, err := os.ReadFile(strings.TrimSpace(v))
			pid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
			return pid > 0, fmt.Sprintf("no pid in %s: %v", v, err)
		})
		return pid
	}
	t.Fatalf("%s names no pid file", d.Conf)
	return 0
}
