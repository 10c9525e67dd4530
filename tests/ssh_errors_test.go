package tests

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// sshTarget is one transport with its daemon and sshd, for the refusal
// tests: args builds the mount options with a given key and known_hosts.
type sshTarget struct {
	d    *testkit.Daemon
	s    *testkit.SSHD
	dest string
	args func(key, knownHosts string) []string
}

func newSSHTarget(t *testing.T, overDaemon bool) sshTarget {
	d := testkit.StartDaemon(t, testkit.DaemonOptions{})
	var o testkit.SSHDOptions
	if overDaemon {
		o.ForcedCommand = d.SSHCommand()
	}
	s := testkit.StartSSHD(t, o)
	st := sshTarget{d: d, s: s, dest: "root@127.0.0.1:" + d.Dir}
	if overDaemon {
		st.dest = d.SSHDest()
	}
	st.args = func(key, kh string) []string {
		a := []string{"--dest", st.dest, "--ssh-port", strconv.Itoa(s.Port), "--ssh-key", key, "--ssh-known-hosts", kh}
		if overDaemon {
			a = append(a, "--rsh", "ssh", "--ssh-options", "-l root", "--password-file", d.PasswordFile)
		}
		return a
	}
	return st
}

// TestSSHRefusals: an unknown host key, a changed host key and a key the
// server does not accept each stop `mirrorfs mount` (exit code Dest) and
// fail `mirrorfs check`, with one line naming the fix, and write nothing.
func TestSSHRefusals(t *testing.T) {
	requireE2E(t)
	for _, overDaemon := range []bool{true, false} {
		name := map[bool]string{true: "daemon over ssh", false: "remote shell"}[overDaemon]
		t.Run(name, func(t *testing.T) {
			tg := newSSHTarget(t, overDaemon)
			port := strconv.Itoa(tg.s.Port)
			empty, wrong := tg.s.EmptyKnownHosts(t), tg.s.WrongKnownHosts(t)
			cases := []struct {
				name, key, kh string
				want          []string
			}{
				{"unknown host key", tg.s.UserKey, empty, []string{"host key of 127.0.0.1:" + port + " is not in " + empty, "ssh-keyscan -p " + port + " 127.0.0.1 >> " + empty}},
				{"changed host key", tg.s.UserKey, wrong, []string{"does not match the one in " + wrong, "ssh-keygen -R"}},
				{"wrong user key", tg.s.WrongUserKey(t), tg.s.KnownHosts, []string{"ssh login as root to 127.0.0.1:" + port + " was refused (publickey)", "authorized_keys"}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					stderr, code := refusedRun(t, tg.d.Dir, func(mnt string) []string {
						return append(append([]string{"mount"}, tg.args(tc.key, tc.kh)...), mnt)
					})
					if code != exitcode.Dest {
						t.Errorf("mount: exit %d, want %d (destination refused); stderr: %s", code, exitcode.Dest, stderr)
					}
					t.Logf("mount: %s", strings.TrimSpace(stderr))
					for _, w := range tc.want {
						if !strings.Contains(stderr, w) {
							t.Errorf("mount stderr lacks %q: %s", w, stderr)
						}
					}

					env := append(os.Environ(), "MIRRORFS_RUN_DIR="+t.TempDir())
					out, errOut, code := runMirrorfs(t, env, append([]string{"check"}, tg.args(tc.key, tc.kh)...)...)
					if code == 0 {
						t.Errorf("check passed with %s:\n%s", tc.name, out)
					}
					if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool {
						return strings.HasPrefix(l, "FAIL") && strings.Contains(l, tc.want[0])
					}) {
						t.Errorf("check prints no FAIL line with %q:\n%s%s", tc.want[0], out, errOut)
					}
				})
			}
		})
	}
}

// TestSSHUnreachable: with sshd down, check fails with one line saying so;
// mount starts (changes queue, as with a daemon that is down), says why in
// status, and an unmount that cannot flush exits with code Flush.
func TestSSHUnreachable(t *testing.T) {
	requireE2E(t)
	for _, overDaemon := range []bool{true, false} {
		name := map[bool]string{true: "daemon over ssh", false: "remote shell"}[overDaemon]
		t.Run(name, func(t *testing.T) {
			tg := newSSHTarget(t, overDaemon)
			tg.s.Stop()
			env := append(os.Environ(), "MIRRORFS_RUN_DIR="+t.TempDir())
			want := "cannot reach sshd at 127.0.0.1:" + strconv.Itoa(tg.s.Port) + " (Connection refused)"
			out, errOut, code := runMirrorfs(t, env, append([]string{"check"}, tg.args(tg.s.UserKey, tg.s.KnownHosts)...)...)
			if code == 0 || !strings.Contains(out, "FAIL  destination reachable: "+want) {
				t.Errorf("check with sshd down: exit %d, want non-zero and a FAIL line with %q:\n%s%s", code, want, out, errOut)
			}

			args := tg.args(tg.s.UserKey, tg.s.KnownHosts)[2:] // mountMirror adds --dest
			if overDaemon {
				args = args[:len(args)-2] // and --password-file
			}
			m := mountMirror(t, mountOptions{Daemon: tg.d, Dest: tg.dest, Args: append(args, "--flush-timeout", "3s")})
			write(t, m.Mnt+"/pending", "p")
			m.waitFailing(t, strings.ToLower(want))
			if _, code := m.Unmount(t); code != exitcode.Flush {
				t.Errorf("unmount with sshd down: exit %d, want %d", code, exitcode.Flush)
			}
			if ec := m.Wait(t); ec != exitcode.Flush {
				t.Errorf("mount exit %d after an incomplete flush, want %d", ec, exitcode.Flush)
			}
			if names, _ := os.ReadDir(tg.d.Dir); len(names) != 0 {
				t.Errorf("destination written while sshd was down: %d entries", len(names))
			}
		})
	}
}

// TestSSHCheckPasses: `mirrorfs check` over each ssh transport reports
// every destination step OK and leaves nothing on the destination.
func TestSSHCheckPasses(t *testing.T) {
	requireE2E(t)
	for _, overDaemon := range []bool{true, false} {
		name := map[bool]string{true: "daemon over ssh", false: "remote shell"}[overDaemon]
		t.Run(name, func(t *testing.T) {
			tg := newSSHTarget(t, overDaemon)
			env := append(os.Environ(), "MIRRORFS_RUN_DIR="+t.TempDir())
			out, errOut, code := runMirrorfs(t, env, append([]string{"check"}, tg.args(tg.s.UserKey, tg.s.KnownHosts)...)...)
			want := []string{"destination reachable", "destination host key", "destination ssh login", "destination writable", "destination symlinks"}
			if overDaemon {
				want = append(want, "destination module", "destination login")
			}
			for _, w := range want {
				if !strings.Contains(out, "OK    "+w+":") {
					t.Errorf("check lacks an OK line for %q (exit %d):\n%s%s", w, code, out, errOut)
				}
			}
			if names, _ := os.ReadDir(tg.d.Dir); len(names) != 0 {
				t.Errorf("check left %d entries on the destination", len(names))
			}
		})
	}
}

// TestSSHShellMissingDir: a remote directory that does not exist stops
// the mount with one line saying how to create it.
func TestSSHShellMissingDir(t *testing.T) {
	requireE2E(t)
	tg := newSSHTarget(t, false)
	args := tg.args(tg.s.UserKey, tg.s.KnownHosts)
	args[1] = "root@127.0.0.1:" + tg.d.Dir + "/nonexistent/deeper" // after --dest
	mnt := filepath.Join(t.TempDir(), "data")
	must(t, os.Mkdir(mnt, 0o755))
	env := append(os.Environ(), "MIRRORFS_RUN_DIR="+t.TempDir())
	stderr, code := runMountExpectingFailure(t, env, mnt, append(append([]string{"mount"}, args...), mnt)...)
	if code != exitcode.Dest {
		t.Errorf("exit %d, want %d; stderr: %s", code, exitcode.Dest, stderr)
	}
	checkOneLineError(t, stderr)
	if !strings.Contains(stderr, "does not exist on 127.0.0.1: create it (ssh -p "+strconv.Itoa(tg.s.Port)+" root@127.0.0.1 mkdir -p "+tg.d.Dir+"/nonexistent/deeper)") {
		t.Errorf("stderr does not say how to create the directory: %s", stderr)
	}
}

// TestSSHCheckMountpoint: `mirrorfs check MOUNTPOINT` of a mount over ssh
// takes the transport from the mount's status and passes, live probe
// included.
func TestSSHCheckMountpoint(t *testing.T) {
	for _, tr := range sshTransports {
		t.Run(tr.name, func(t *testing.T) {
			m := mountMirror(t, tr.setup(t, testkit.DaemonOptions{}))
			if tp, _ := m.Status(t)["transport"].(map[string]any); tp["rsh"] != "ssh" || tp["ssh_key"] == nil {
				t.Errorf("status transport = %v, want rsh ssh and the key's path", tp)
			}
			lines, code, out := runCheck(t, m.env(), m.Mnt)
			if code != 0 {
				t.Errorf("check %s: exit %d, want 0:\n%s", m.Mnt, code, out)
			}
			for _, want := range []string{"destination host key", "destination ssh login", "destination writable", "live: changes shipped"} {
				if l, ok := findCheck(lines, want); !ok || l.Result != "OK" {
					t.Errorf("check %q: %+v, want OK:\n%s", want, l, out)
				}
			}
		})
	}
}

// TestSSHOutage: sshd goes away with changes queued and comes back; the
// changes made meanwhile arrive, over each transport.
func TestSSHOutage(t *testing.T) {
	for _, overDaemon := range []bool{true, false} {
		name := map[bool]string{true: "daemon over ssh", false: "remote shell"}[overDaemon]
		t.Run(name, func(t *testing.T) {
			tg := newSSHTarget(t, overDaemon)
			args := tg.args(tg.s.UserKey, tg.s.KnownHosts)[2:]
			if overDaemon {
				args = args[:len(args)-2]
			}
			m := mountMirror(t, mountOptions{Daemon: tg.d, Dest: tg.dest, Args: args})
			writeMany(t, m.Mnt, "before", 20)
			m.assertMirrored(t, testkit.CompareOptions{})
			tg.s.Stop()
			writeMany(t, m.Mnt, "during", 20)
			must(t, os.Remove(m.Mnt+"/before000"))
			m.waitFailing(t, "cannot reach sshd")
			tg.s.Start()
			m.assertMirrored(t, testkit.CompareOptions{})
		})
	}
}
