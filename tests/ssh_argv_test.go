package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// TestSSHArgvHasNoPassword looks at the argv of every process below
// mirrorfs (rsync and ssh) while a slow transfer through ssh runs: the
// daemon password is in none of them, nor in the log or status, and ssh
// always runs with host key checking.
func TestSSHArgvHasNoPassword(t *testing.T) {
	requireE2E(t)
	const password = "pw-N0t-In-Argv"
	o := sshDaemonDest(t, testkit.DaemonOptions{Password: password})
	// 16 MiB at 2 MiB/s: a transfer that lasts about 8 s.
	o.Args = append(o.Args, "--bwlimit", "2M")
	m := mountMirror(t, o)
	writeZeros(t, filepath.Join(m.Mnt, "slow"), 16<<20)

	var sawRsync, sawSSH bool
	testkit.Eventually(t, syncTimeout, func() (bool, string) {
		for _, pid := range testkit.Descendants(m.cmd.Process.Pid)[1:] {
			raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
			if err != nil {
				continue
			}
			argv := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
			line := strings.Join(argv, " ")
			if strings.Contains(line, password) {
				t.Fatalf("the password is in the argv of pid %d: %q", pid, argv)
			}
			switch filepath.Base(argv[0]) {
			case "rsync":
				sawRsync = true
			case "ssh":
				sawSSH = true
				for _, w := range []string{"BatchMode=yes", "StrictHostKeyChecking=yes"} {
					if !strings.Contains(line, w) {
						t.Errorf("ssh runs without %s: %q", w, argv)
					}
				}
			}
		}
		return sawRsync && sawSSH, "waiting to see rsync and its ssh child during the transfer"
	})
	m.Sync(t)
	m.assertMirrored(t, testkit.CompareOptions{})
	if strings.Contains(m.statusText(t), password) {
		t.Error("the password is in status")
	}
	if strings.Contains(m.logText(), password) {
		t.Error("the password is in the mount's log")
	}
}

// TestSSHChildrenDieWithMirrorfs: after mirrorfs is killed with SIGKILL in
// the middle of a transfer through ssh, neither its rsync nor rsync's ssh
// child lives on.
func TestSSHChildrenDieWithMirrorfs(t *testing.T) {
	requireE2E(t)
	o := sshDaemonDest(t, testkit.DaemonOptions{})
	o.Args = append(o.Args, "--bwlimit", "1M", "--state-dir", filepath.Join(t.TempDir(), "state"))
	m := mountMirror(t, o)
	lazyUnmountCleanup(t, m.Mnt)
	writeZeros(t, filepath.Join(m.Mnt, "slow"), 16<<20)
	var kids []int
	testkit.Eventually(t, syncTimeout, func() (bool, string) {
		kids = testkit.Descendants(m.cmd.Process.Pid)[1:]
		for _, pid := range kids {
			if raw, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline")); strings.HasPrefix(string(raw), "ssh\x00") {
				return true, ""
			}
		}
		return false, "waiting for rsync's ssh child"
	})
	m.kill9(t)
	testkit.Eventually(t, 30*time.Second, func() (bool, string) {
		var alive []string
		for _, pid := range kids {
			if st, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat")); err == nil && !strings.Contains(string(st), ") Z ") {
				alive = append(alive, strconv.Itoa(pid))
			}
		}
		return len(alive) == 0, "still running after mirrorfs died: " + strings.Join(alive, " ")
	})
}
