package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// TestFstabInPlace: the README's in-place fstab entry, mounted with
// `mount -T FILE MOUNTPOINT` through mount.fuse3. mount returns 0 with the
// filesystem usable and mirrorfs running in the background; changes reach
// the module; `umount` returns at once and mirrorfs ships what is left, then
// exits on its own.
func TestFstabInPlace(t *testing.T) {
	m := fstabSetup(t, false)
	write(t, m.Mnt+"/before", "there before the mount")
	fstab := writeFstab(t, fstabEntry{Route: viaMountFuse3, Source: m.Mnt, Mnt: m.Mnt,
		Options: m.options("_netdev,nofail,x-systemd.requires=network-online.target")})
	m.mount(t, fstab)

	must(t, os.MkdirAll(m.Mnt+"/dir/sub", 0o755))
	write(t, m.Mnt+"/dir/sub/file", "through the mount")
	testkit.Eventually(t, convergeTimeout, func() (bool, string) {
		data, err := os.ReadFile(m.Daemon.Dir + "/dir/sub/file")
		return string(data) == "through the mount", fmt.Sprintf("module dir/sub/file: %q, %v", data, err)
	})
	write(t, m.Mnt+"/gone", "x")
	must(t, os.Remove(m.Mnt+"/gone"))
	must(t, os.Rename(m.Mnt+"/before", m.Mnt+"/dir/renamed"))
	write(t, m.Mnt+"/last", "written just before umount")

	if out, code := runMountCmd(t, m.env(), "umount", m.Mnt); code != 0 {
		t.Fatalf("umount %s: exit %d: %s", m.Mnt, code, out)
	}
	m.waitExit(t)
	if !strings.Contains(m.logText(), "unmounted and flushed") {
		t.Errorf("mirrorfs did not report a complete flush:\n%s", m.logText())
	}
	if fstype, _ := mountType(m.Mnt); strings.HasPrefix(fstype, "fuse") {
		t.Fatalf("%s still mounted (%s) after umount", m.Mnt, fstype)
	}
	testkit.AssertTreesEqual(t, m.Mnt, m.Daemon.Dir, testkit.CompareOptions{})
}

// TestFstabMountHelper: the same entry with a fuse.TYPE that mount(8) hands
// to /sbin/mount.fuse.TYPE, a link to mirrorfs (what `make install` sets
// up as mount.fuse.mirrorfs): argv[0] selects the mount helper protocol.
// mount -f checks the entry and mounts nothing; `mirrorfs unmount` waits
// for the flush and reports it.
func TestFstabMountHelper(t *testing.T) {
	m := fstabSetup(t, false)
	fstab := writeFstab(t, fstabEntry{Route: viaSbinLink, Source: m.Mnt, Mnt: m.Mnt,
		Options: m.options("_netdev,x-systemd.requires=network-online.target")})

	if out, code := runMountCmd(t, m.env(), "mount", "-f", "-T", fstab, m.Mnt); code != 0 {
		t.Fatalf("mount -f: exit %d: %s", code, out)
	}
	if fstype, _ := mountType(m.Mnt); fstype != "" {
		t.Fatalf("mount -f (fake) mounted %s", fstype)
	}

	m.mount(t, fstab)
	var created atomic.Int64
	must(t, burst(m.Mnt, 300, &created))
	out, errOut, code := runMirrorfs(t, m.env(), "unmount", "--timeout", syncTimeout.String(), m.Mnt)
	if code != 0 || !strings.Contains(out, "nothing pending") {
		t.Fatalf("mirrorfs unmount: exit %d, want 0 and a report of nothing pending:\n%s%s", code, out, errOut)
	}
	t.Logf("mirrorfs unmount: %s", strings.TrimSpace(out))
	m.waitExit(t)
	testkit.AssertTreesEqual(t, m.Mnt, m.Daemon.Dir, testkit.CompareOptions{})
}

// TestFstabSeparateSourceBusy: an entry with a separate source directory.
// SIGTERM while a file is open on the mount: mirrorfs flushes what is
// queued while still mounted, then detaches the mount lazily, says so, and
// exits.
func TestFstabSeparateSourceBusy(t *testing.T) {
	m := fstabSetup(t, true)
	fstab := writeFstab(t, fstabEntry{Route: viaMountFuse3, Source: m.Data, Mnt: m.Mnt, Options: m.options("")})
	m.mount(t, fstab)

	writeMany(t, m.Mnt, "busy", 50)
	held, err := os.Open(m.Mnt + "/busy000")
	must(t, err)
	defer held.Close()

	must(t, syscall.Kill(m.PID, syscall.SIGTERM))
	m.waitLog(t, "mountpoint busy")
	m.waitLog(t, "detached lazily")
	m.waitExit(t)
	held.Close()
	if fstype, _ := mountType(m.Mnt); strings.HasPrefix(fstype, "fuse") {
		t.Fatalf("%s still mounted (%s) after the lazy unmount", m.Mnt, fstype)
	}
	if strings.Contains(m.logText(), "not shipped") {
		t.Errorf("changes left unshipped:\n%s", m.logText())
	}
	testkit.AssertTreesEqual(t, m.Data, m.Daemon.Dir, testkit.CompareOptions{})
}

// TestFstabErrors: when mirrorfs cannot mount, mount(8) fails and prints
// mirrorfs's own one-line error; nothing stays mounted or running.
func TestFstabErrors(t *testing.T) {
	requireE2E(t)
	d := testkit.StartDaemon(t, testkit.DaemonOptions{})
	openPass := filepath.Join(t.TempDir(), "open.pass")
	must(t, os.WriteFile(openPass, []byte(d.Password+"\n"), 0o644))
	must(t, os.Chmod(openPass, 0o644))
	noModule := strings.TrimSuffix(d.URL(), "/"+d.Module) + "/nosuchmodule"
	log := "log-file=" + filepath.Join(t.TempDir(), "mirrorfs.log") + ",state-dir=" + filepath.Join(t.TempDir(), "state")

	tests := []struct {
		name, options, want string
		occupied            bool // another mirrorfs already serves the mountpoint
	}{
		{"password file readable by others", "dest=" + d.URL() + ",password-file=" + openPass + "," + log,
			"mirrorfs: password file " + openPass + " is accessible by group or others", false},
		{"no destination", "password-file=" + d.PasswordFile + ",_netdev," + log,
			"mirrorfs: no destination", false},
		{"unknown module", "dest=" + noModule + ",password-file=" + d.PasswordFile + "," + log,
			`has no module "nosuchmodule"`, false},
		{"unknown option", "dest=" + d.URL() + ",password-file=" + d.PasswordFile + ",bogus=1," + log,
			`mirrorfs: -o: unknown option "bogus"`, false},
		{"second dest refused", "dest=" + d.URL() + ",dest=" + noModule + ",password-file=" + d.PasswordFile + "," + log,
			`destination ` + noModule + `: `, false},
		{"same dest twice", "dest=" + d.URL() + ",dest=" + d.URL() + ",password-file=" + d.PasswordFile + "," + log,
			"given twice", false},
		{"busy mountpoint", "dest=" + d.URL() + ",password-file=" + d.PasswordFile + "," + log,
			"is already a FUSE mount", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mnt := filepath.Join(t.TempDir(), "data")
			must(t, os.Mkdir(mnt, 0o755))
			runDir := t.TempDir()
			if tc.occupied {
				mountMirror(t, mountOptions{Daemon: d, Mnt: mnt})
			}
			fstab := writeFstab(t, fstabEntry{Route: viaMountFuse3, Source: mnt, Mnt: mnt, Options: tc.options})
			out, code := runMountCmd(t, helperEnv(runDir), "mount", "-T", fstab, mnt)
			t.Logf("mount: exit %d: %s", code, strings.TrimSpace(out))
			if code == 0 {
				runMirrorfs(t, helperEnv(runDir), "unmount", mnt)
				t.Fatalf("mount succeeded, want a failure with %q", tc.want)
			}
			checkOneLineError(t, out)
			if !strings.Contains(out, tc.want) {
				t.Errorf("mount output lacks %q:\n%s", tc.want, out)
			}
			if tc.occupied {
				return
			}
			if fstype, _ := mountType(mnt); fstype != "" {
				t.Errorf("%s mounted (%s) after a failed mount", mnt, fstype)
			}
			if _, errOut, code := runMirrorfs(t, helperEnv(runDir), "status", mnt); code != exitcode.NotRunning {
				t.Errorf("mirrorfs status after a failed mount: exit %d, want 6 (nothing running): %s", code, errOut)
			}
		})
	}
}
