package testkit

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestDaemonPushStopStart(t *testing.T) {
	Require(t, "rsync", "root")
	d := StartDaemon(t, DaemonOptions{})
	if !strings.HasPrefix(d.URL(), "rsync://rsyncuser@127.0.0.1:") || !strings.HasSuffix(d.URL(), "/backup") {
		t.Fatalf("URL() = %q", d.URL())
	}
	if fi, err := os.Stat(d.PasswordFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("client password file %s: %v, mode %v; want 0600", d.PasswordFile, err, fi.Mode())
	}

	src := t.TempDir()
	Populate(t, src, PopulateOptions{Xattrs: true, Devices: true})
	if out, err := d.Push(src); err != nil {
		t.Fatalf("push: %v\n%s\ndaemon log:\n%s", err, out, d.Log())
	}
	// Symlink targets must arrive unmunged although use chroot = no.
	AssertTreesEqual(t, src, d.Dir, CompareOptions{Xattrs: true})
	if out := RsyncDiff(t, src, d.Dir); out != "" {
		t.Errorf("rsync sees differences after push:\n%s", out)
	}

	port := d.Port
	d.Stop()
	if d.Running() {
		t.Fatal("daemon still running after Stop")
	}
	out, err := d.Push(src)
	if code := exitCode(err); code != 10 {
		t.Errorf("push to stopped daemon: exit %d, want 10 (socket I/O)\n%s", code, out)
	}

	d.Start()
	if d.Port != port {
		t.Fatalf("restart moved port %d → %d", port, d.Port)
	}
	if err := os.WriteFile(filepath.Join(src, "after-restart"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := d.Push(src); err != nil {
		t.Fatalf("push after restart: %v\n%s\n%s", err, out, d.Log())
	}
	AssertTreesEqual(t, src, d.Dir, CompareOptions{Xattrs: true})
}

func TestDaemonWrongPassword(t *testing.T) {
	Require(t, "rsync", "root")
	d := StartDaemon(t, DaemonOptions{Password: "s3cret"})
	if err := os.WriteFile(d.PasswordFile, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := d.Push(t.TempDir())
	if code := exitCode(err); code != 5 || !strings.Contains(out, "auth failed") {
		t.Fatalf("push with wrong password: exit %d, want 5 with \"auth failed\"\n%s", code, out)
	}
	if !strings.Contains(d.Log(), "auth failed") {
		t.Errorf("daemon log does not mention the auth failure:\n%s", d.Log())
	}
}

func TestDaemonCustomDirAndExtraOptions(t *testing.T) {
	Require(t, "rsync", "root")
	dir := t.TempDir()
	d := StartDaemon(t, DaemonOptions{Dir: dir, Module: "other", ExtraModule: []string{"read only = yes"}})
	if d.Dir != dir || !strings.HasSuffix(d.URL(), "/other") {
		t.Fatalf("Dir %q URL %q", d.Dir, d.URL())
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := d.Push(src)
	if err == nil || !strings.Contains(out, "read only") {
		t.Fatalf("push to read-only module succeeded or said something else: %v\n%s", err, out)
	}
}

// The article's "use chroot = no" rewrites symlink targets on the daemon
// side; UseChroot carries them verbatim. This pins the behaviour the e2e
// tests and the user documentation rely on.
func TestDaemonSymlinkSanitizing(t *testing.T) {
	Require(t, "rsync", "root")
	src := t.TempDir()
	if err := os.Mkdir(src+"/d", 0o755); err != nil {
		t.Fatal(err)
	}
	for target, name := range map[string]string{"/abs/x": "abs", "../../up": "d/up", "../in": "d/in"} {
		if err := os.Symlink(target, filepath.Join(src, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		chroot bool
		want   map[string]string
	}{
		{false, map[string]string{"abs": "abs/x", "d/up": "../up", "d/in": "../in"}},
		{true, map[string]string{"abs": "/abs/x", "d/up": "../../up", "d/in": "../in"}},
	} {
		d := StartDaemon(t, DaemonOptions{UseChroot: tc.chroot})
		if out, err := d.Push(src); err != nil {
			t.Fatalf("push: %v\n%s", err, out)
		}
		for name, want := range tc.want {
			if got, err := os.Readlink(filepath.Join(d.Dir, name)); err != nil || got != want {
				t.Errorf("use chroot=%v: %s -> %q (%v), want %q", tc.chroot, name, got, err, want)
			}
		}
	}
}
