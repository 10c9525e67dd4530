package tests

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// failTimeout bounds a mount that should fail at start; if it is still
// running then, it mounted, which is the bug.
const failTimeout = 30 * time.Second

// runMountExpectingFailure runs `mirrorfs ARGS` in the foreground and
// returns its stderr and exit code. A process that is still running after
// failTimeout is killed and its mount removed.
func runMountExpectingFailure(t *testing.T, env []string, mnt string, args ...string) (string, int) {
	t.Helper()
	if len(args) > 0 && args[0] == "mount" {
		// A mount that gets as far as the journal keeps it in the test's tree.
		args = append([]string{"mount", "--state-dir", filepath.Join(t.TempDir(), "state")}, args[1:]...)
	}
	return runMountWithin(t, env, mnt, failTimeout, args...)
}

// checkOneLineError asserts the error contract: one line on stderr starting
// with "mirrorfs: ", no panic, no stack trace.
// refusedRun runs the mirrorfs command args makes for a populated data
// directory, which must fail, and checks what every refusal leaves: one
// line on stderr, nothing mounted, the data untouched and nothing in
// destDir. It returns stderr and the exit code.
func refusedRun(t *testing.T, destDir string, args func(mnt string) []string) (string, int) {
	t.Helper()
	mnt := filepath.Join(t.TempDir(), "data")
	must(t, os.Mkdir(mnt, 0o755))
	testkit.Populate(t, mnt, testkit.PopulateOptions{})
	snap := testkit.Snapshot(t, mnt)
	env := append(os.Environ(), "MIRRORFS_RUN_DIR="+t.TempDir())
	stderr, code := runMountExpectingFailure(t, env, mnt, args(mnt)...)
	checkOneLineError(t, stderr)
	if fstype, _ := mountType(mnt); fstype != "" {
		t.Errorf("%s is mounted (%s) after a failed start", mnt, fstype)
		exec.Command("fusermount3", "-u", "-z", mnt).Run()
	}
	testkit.AssertTreesEqual(t, mnt, snap, testkit.CompareOptions{ExactSpecialMtime: true, Xattrs: true})
	if names, _ := os.ReadDir(destDir); len(names) != 0 {
		t.Errorf("destination changed by a failed start: %d entries", len(names))
	}
	return stderr, code
}

func checkOneLineError(t *testing.T, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
		t.Errorf("stderr holds a panic or stack trace:\n%s", stderr)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "mirrorfs: ") || len(lines[0]) < len("mirrorfs: ")+10 {
		t.Errorf("want exactly one line on stderr starting with \"mirrorfs: \", got %d line(s):\n%s", len(lines), stderr)
	}
}

func TestBadInput(t *testing.T) {
	requireE2E(t)
	d := testkit.StartDaemon(t, testkit.DaemonOptions{})
	pass := d.PasswordFile
	wrongPass := filepath.Join(t.TempDir(), "wrong.pass")
	must(t, os.WriteFile(wrongPass, []byte("not-the-password\n"), 0o600))
	openPass := filepath.Join(t.TempDir(), "open.pass")
	must(t, os.WriteFile(openPass, []byte(d.Password+"\n"), 0o644))
	must(t, os.Chmod(openPass, 0o644))
	badModule := strings.TrimSuffix(d.URL(), "/"+d.Module) + "/nosuchmodule"
	file := filepath.Join(t.TempDir(), "a-file")
	write(t, file, "not a directory")
	confA := filepath.Join(t.TempDir(), "a.conf")
	write(t, confA, "dest = "+d.URL()+"\npassword-file = "+pass+"\n")
	confB := filepath.Join(t.TempDir(), "b.conf")
	write(t, confB, "dest = "+badModule+"\n")
	confTwice := filepath.Join(t.TempDir(), "twice.conf")
	write(t, confTwice, "dest = "+d.URL()+"\ndelay = 1s\ndelay = 2s\n")

	tests := []struct {
		name  string
		args  func(mnt string) []string
		codes []int // acceptable exit codes; the first is the documented one
		want  string
	}{
		{"missing --dest", func(mnt string) []string { return []string{"mount", "--password-file", pass, mnt} }, []int{exitcode.Usage}, "dest"},
		{"unknown option", func(mnt string) []string {
			return []string{"mount", "--dest", d.URL(), "--password-file", pass, "--bogus-option", mnt}
		}, []int{exitcode.Usage}, "bogus-option"},
		{"unknown -o option", func(mnt string) []string {
			return []string{"mount", "--dest", d.URL(), "--password-file", pass, "-o", "frobnicate=1", mnt}
		}, []int{exitcode.Usage}, "frobnicate"},
		{"bad --delay", func(mnt string) []string {
			return []string{"mount", "--dest", d.URL(), "--password-file", pass, "--delay", "soon", mnt}
		}, []int{exitcode.Usage}, "delay"},
		{"bad --dest scheme", func(mnt string) []string {
			return []string{"mount", "--dest", "http://127.0.0.1/backup", "--password-file", pass, mnt}
		}, []int{exitcode.Usage}, "dest"},
		{"missing mountpoint argument", func(string) []string { return []string{"mount", "--dest", d.URL(), "--password-file", pass} }, []int{exitcode.Usage}, "MOUNTPOINT"},
		{"unknown command", func(mnt string) []string { return []string{"mountt", mnt} }, []int{exitcode.Usage}, "mountt"},
		{"nonexistent mountpoint", func(mnt string) []string {
			return []string{"mount", "--dest", d.URL(), "--password-file", pass, mnt + "/does-not-exist"}
		}, []int{exitcode.Mount}, "does-not-exist"},
		{"mountpoint is a file", func(string) []string { return []string{"mount", "--dest", d.URL(), "--password-file", pass, file} }, []int{exitcode.Mount}, "a-file"},
		{"unknown module", func(mnt string) []string { return []string{"mount", "--dest", badModule, "--password-file", pass, mnt} }, []int{exitcode.Dest}, "nosuchmodule"},
		{"wrong password", func(mnt string) []string {
			return []string{"mount", "--dest", d.URL(), "--password-file", wrongPass, mnt}
		}, []int{exitcode.Dest}, "password"},
		{"password file mode 0644", func(mnt string) []string {
			return []string{"mount", "--dest", d.URL(), "--password-file", openPass, mnt}
		}, []int{exitcode.Dest}, "open.pass"},
		{"missing password file", func(mnt string) []string {
			return []string{"mount", "--dest", d.URL(), "--password-file", pass + ".missing", mnt}
		}, []int{exitcode.Dest, exitcode.Usage}, "missing"},
		{"missing --source directory", func(mnt string) []string {
			return []string{"mount", "--dest", d.URL(), "--password-file", pass, "--source", mnt + "/no-such-source", mnt}
		}, []int{exitcode.Mount}, "no-such-source"},
		{"second --dest refused", func(mnt string) []string {
			return []string{"mount", "--dest", d.URL(), "--dest", badModule, "--password-file", pass, mnt}
		}, []int{exitcode.Dest}, "destination " + badModule + ": "},
		{"-o dest and --dest, the same destination", func(mnt string) []string {
			return []string{"mount", "-o", "dest=" + d.URL(), "--dest", d.URL(), "--password-file", pass, mnt}
		}, []int{exitcode.Usage}, `destination ` + d.URL() + ` given twice`},
		{"-o delay twice", func(mnt string) []string {
			return []string{"mount", "--dest", d.URL(), "--password-file", pass, "-o", "delay=1s,delay=2s", mnt}
		}, []int{exitcode.Usage}, `option "delay" given twice (-o delay=1s, -o delay=2s)`},
		{"--config and -o config", func(mnt string) []string {
			return []string{"mount", "--config", confA, "-o", "config=" + confB, mnt}
		}, []int{exitcode.Usage}, "config file given twice (-o config=" + confB + ", --config " + confA + ")"},
		{"config file with delay twice", func(mnt string) []string { return []string{"mount", "--config", confTwice, mnt} },
			[]int{exitcode.Usage}, confTwice + `:3: option "delay" given twice`},
		{"delay=0,max-delay=0", func(mnt string) []string {
			return []string{"mount", "--dest", d.URL(), "--password-file", pass, "-o", "delay=0,max-delay=0", mnt}
		}, []int{exitcode.Usage}, "max-delay 0s: must be a positive time; to ship at once use delay=0"},
		{"check: --config and -o config", func(string) []string { return []string{"check", "--config", confA, "-o", "config=" + confB} },
			[]int{exitcode.Usage}, "config file given twice (-o config=" + confB + ", --config " + confA + ")"},
		{"check: config file with delay twice", func(string) []string { return []string{"check", "--config", confTwice} },
			[]int{exitcode.Usage}, confTwice + `:3: option "delay" given twice`},
		{"check: the same --dest twice", func(string) []string { return []string{"check", "--dest", d.URL(), "--dest", d.URL()} },
			[]int{exitcode.Usage}, "given twice"},
		{"status of a plain directory", func(mnt string) []string { return []string{"status", "--json", mnt} }, []int{exitcode.NotRunning}, ""},
		{"sync of a plain directory", func(mnt string) []string { return []string{"sync", "--wait", mnt} }, []int{exitcode.NotRunning}, ""},
		{"unmount of a plain directory", func(mnt string) []string { return []string{"unmount", mnt} }, []int{exitcode.NotRunning}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stderr, code := refusedRun(t, d.Dir, tc.args)
			if !slices.Contains(tc.codes, code) {
				t.Errorf("exit %d, want %s; stderr: %s", code, codesString(tc.codes), stderr)
			}
			if !strings.Contains(strings.ToLower(stderr), strings.ToLower(tc.want)) {
				t.Errorf("stderr does not mention %q: %s", tc.want, stderr)
			}
		})
	}
}

func codesString(codes []int) string {
	s := make([]string, len(codes))
	for i, c := range codes {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, " or ")
}

// TestMountBusy: a second mirrorfs on a mountpoint already served by one is
// refused without disturbing the first.
func TestMountBusy(t *testing.T) {
	m := mountMirror(t, mountOptions{})
	write(t, m.Mnt+"/f", "first")
	m.Sync(t)
	stderr, code := runMountExpectingFailure(t, m.env(), "",
		"mount", "--dest", m.Daemon.URL(), "--password-file", m.Daemon.PasswordFile, m.Mnt)
	if code != exitcode.Mount {
		t.Errorf("second mount: exit %d, want 3; stderr: %s", code, stderr)
	}
	checkOneLineError(t, stderr)
	write(t, m.Mnt+"/g", "still works")
	m.assertMirrored(t, testkit.CompareOptions{})
}

// TestStaleMount: after the mirrorfs process died, its mountpoint answers
// ENOTCONN; a new mount is refused with a hint how to clear it.
func TestStaleMount(t *testing.T) {
	m := mountMirror(t, mountOptions{})
	write(t, m.Mnt+"/f", "x")
	m.Sync(t)
	must(t, syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL))
	<-m.exited
	t.Cleanup(func() { exec.Command("fusermount3", "-u", "-z", m.Mnt).Run() })
	if _, err := os.Stat(m.Mnt + "/f"); !errors.Is(err, syscall.ENOTCONN) {
		t.Fatalf("stat through the dead mount: %v, want ENOTCONN", err)
	}
	stderr, code := runMountExpectingFailure(t, m.env(), "",
		"mount", "--dest", m.Daemon.URL(), "--password-file", m.Daemon.PasswordFile, m.Mnt)
	if code != exitcode.Mount {
		t.Errorf("mount over a stale mount: exit %d, want 3; stderr: %s", code, stderr)
	}
	checkOneLineError(t, stderr)
	if !strings.Contains(stderr, "fusermount") && !strings.Contains(stderr, "umount") {
		t.Errorf("stale-mount error should say how to clear it (fusermount3 -u / umount): %s", stderr)
	}
	if _, _, code := m.cli(t, "status", m.Mnt); code != exitcode.NotRunning {
		t.Errorf("status of a dead mirrorfs: exit %d, want 6", code)
	}
	exec.Command("fusermount3", "-u", "-z", m.Mnt).Run()
}
