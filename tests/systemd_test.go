package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

const unitFile = "../dist/mirrorfs@.service"

// TestMakeInstall installs into a scratch PREFIX and SBINDIR, as a packager
// would: the binary, both mount helper links and the unit, whose ExecStart
// follows PREFIX. systemd-analyze verify accepts the installed unit for an
// instance; make uninstall removes everything again.
func TestMakeInstall(t *testing.T) {
	testkit.Require(t, "make")
	analyze := testkit.RequireTool(t, "systemd-analyze")
	root := t.TempDir()
	prefix, sbin := filepath.Join(root, "usr"), filepath.Join(root, "sbin")
	vars := []string{"PREFIX=" + prefix, "SBINDIR=" + sbin, "BIN=" + filepath.Join(root, "build", "mirrorfs")}
	makeIn(t, append([]string{"install"}, vars...)...)

	bin := filepath.Join(prefix, "bin", "mirrorfs")
	if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("%s not installed as an executable: %v", bin, err)
	}
	for _, name := range []string{"mount.fuse.mirrorfs", "mount.mirrorfs"} {
		link := filepath.Join(sbin, name)
		if target, err := os.Readlink(link); err != nil || target != bin {
			t.Errorf("%s -> %q (%v), want a link to %s", link, target, err, bin)
		}
		// argv[0] selects the mount helper protocol.
		out, err := exec.Command(link, "/only-one-path").CombinedOutput()
		if !strings.Contains(string(out), "expected SOURCE MOUNTPOINT") {
			t.Errorf("%s /only-one-path: %v, want the helper's usage error:\n%s", name, err, out)
		}
	}
	unitDir := filepath.Join(prefix, "lib", "systemd", "system")
	unit, err := os.ReadFile(filepath.Join(unitDir, "mirrorfs@.service"))
	must(t, err)
	if !strings.Contains(string(unit), "ExecStart="+bin+" mount ") {
		t.Errorf("installed unit does not run %s:\n%s", bin, unit)
	}

	// The trailing colon keeps systemd's own unit path (network-online.target).
	cmd := exec.Command(analyze, "verify", "mirrorfs@srv-data.service")
	cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+unitDir+":")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify mirrorfs@srv-data.service: %v, want exit 0 and no complaints:\n%s", err, out)
	}

	makeIn(t, append([]string{"uninstall"}, vars...)...)
	for _, p := range []string{bin, filepath.Join(sbin, "mount.fuse.mirrorfs"), filepath.Join(sbin, "mount.mirrorfs"), filepath.Join(unitDir, "mirrorfs@.service")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("make uninstall left %s", p)
		}
	}
}

func makeIn(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "make", append([]string{"-s", "-C", ".."}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestSystemdNotify runs the unit's ExecStart line as systemd would (with
// its /etc/mirrorfs/INSTANCE.conf replaced by a file of the test), with a
// notification socket: READY=1 arrives once the mount is usable; SIGTERM,
// which KillMode=mixed sends to mirrorfs alone, makes it announce
// STOPPING=1 with a timeout extension, flush and exit 0.
func TestSystemdNotify(t *testing.T) {
	requireE2E(t)
	d := testkit.StartDaemon(t, testkit.DaemonOptions{})
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	msgs := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	t.Setenv("NOTIFY_SOCKET", sock)

	conf := filepath.Join(t.TempDir(), "data.conf")
	must(t, os.WriteFile(conf, []byte(fmt.Sprintf("dest = %s\npassword-file = %s\ndelay = 50ms\nstate-dir = %s\n", d.URL(), d.PasswordFile, filepath.Join(t.TempDir(), "state"))), 0o644))
	m := &Mirror{Mnt: filepath.Join(t.TempDir(), "data"), Daemon: d, RunDir: t.TempDir()}
	must(t, os.Mkdir(m.Mnt, 0o755))
	write(t, m.Mnt+"/before", "there before the service started")
	m.Log = filepath.Join(t.TempDir(), "mirrorfs.log")
	m.start(t, execStart(t, conf, m.Mnt))
	t.Cleanup(func() { m.cleanup(t) })

	got := waitNotify(t, msgs, "READY=1")
	if fstype, _ := mountType(m.Mnt); fstype != "fuse.mirrorfs" {
		t.Fatalf("READY=1 (%q) sent before the mount was usable (%q)", got, fstype)
	}
	m.waitReady(t)
	write(t, m.Mnt+"/during", "written while the service ran")

	must(t, m.cmd.Process.Signal(syscall.SIGTERM))
	got = waitNotify(t, msgs, "STOPPING=1")
	if !strings.Contains(got, "EXTEND_TIMEOUT_USEC=") {
		t.Errorf("STOPPING=1 without EXTEND_TIMEOUT_USEC: %q", got)
	}
	if code := m.Wait(t); code != 0 {
		t.Fatalf("mirrorfs exited %d after SIGTERM:\n%s", code, m.logText())
	}
	testkit.AssertTreesEqual(t, m.Mnt, d.Dir, testkit.CompareOptions{})
}

// execStart returns the unit's ExecStart arguments for the mountpoint mnt,
// with the config file replaced by conf.
func execStart(t *testing.T, conf, mnt string) []string {
	t.Helper()
	f, err := os.Open(unitFile)
	must(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "ExecStart=")
		if !ok {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || filepath.Base(fields[0]) != "mirrorfs" {
			t.Fatalf("ExecStart does not run mirrorfs: %q", line)
		}
		var args []string
		for _, a := range fields[1:] {
			switch {
			case strings.HasPrefix(a, "/etc/mirrorfs/") && strings.HasSuffix(a, "%i.conf"):
				a = conf
			case a == "%f":
				a = mnt
			case strings.Contains(a, "%"):
				t.Fatalf("ExecStart uses %q, which this test does not expand", a)
			}
			args = append(args, a)
		}
		return args
	}
	t.Fatalf("%s has no ExecStart line", unitFile)
	return nil
}

func waitNotify(t *testing.T, msgs <-chan string, want string) string {
	t.Helper()
	timeout := time.After(mountTimeout)
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatalf("notification socket closed before %q", want)
			}
			for _, l := range strings.Split(m, "\n") {
				if l == want {
					return m
				}
			}
			t.Logf("notification: %q", m)
		case <-timeout:
			t.Fatalf("no %q on NOTIFY_SOCKET within %v", want, mountTimeout)
		}
	}
}
