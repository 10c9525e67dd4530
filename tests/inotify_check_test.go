package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

type checkLine struct {
	Check, Result, Detail, Fix string
}

func runCheck(t *testing.T, env []string, args ...string) ([]checkLine, int, string) {
	t.Helper()
	out, errOut, code := runMirrorfs(t, env, append([]string{"check", "--json"}, args...)...)
	var lines []checkLine
	if err := json.Unmarshal([]byte(out), &lines); err != nil {
		t.Fatalf("mirrorfs check --json printed no JSON array (exit %d): %v\n%s\n%s", code, err, out, errOut)
	}
	return lines, code, out + errOut
}

func findCheck(lines []checkLine, name string) (checkLine, bool) {
	for _, l := range lines {
		if l.Check == name {
			return l, true
		}
	}
	return checkLine{}, false
}

// TestInotifyCheckHealthy: against a healthy set-up and a running mount,
// every check is OK, including the live probe, and the probe leaves no
// trace on either side.
func TestInotifyCheckHealthy(t *testing.T) {
	m := mountMirror(t, mountOptions{})
	lines, code, out := runCheck(t, m.env(), m.Mnt)
	if code != 0 {
		t.Errorf("mirrorfs check %s: exit %d, want 0:\n%s", m.Mnt, code, out)
	}
	for _, l := range lines {
		if l.Result != "OK" {
			t.Errorf("check %q: %s (%s), want OK", l.Check, l.Result, l.Detail)
		}
	}
	for _, want := range []string{"kernel inotify", "rsync", "password file", "destination login", "destination writable", "destination symlinks", "live: inotify on the mount", "live: changes shipped"} {
		if _, ok := findCheck(lines, want); !ok {
			t.Errorf("no %q check in:\n%s", want, out)
		}
	}
	for _, dir := range []string{m.Mnt, m.Daemon.Dir} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".mirrorfs-check") {
				t.Errorf("check left %s in %s", e.Name(), dir)
			}
		}
	}
	m.assertMirrored(t, testkit.CompareOptions{})
}

// TestInotifyCheckFailures: each broken set-up gets its own FAIL line and
// a non-zero exit.
func TestInotifyCheckFailures(t *testing.T) {
	requireE2E(t)
	d := testkit.StartDaemon(t, testkit.DaemonOptions{})
	dir := t.TempDir()
	wrong := filepath.Join(dir, "wrong.pass")
	open := filepath.Join(dir, "open.pass")
	os.WriteFile(wrong, []byte("not-the-password\n"), 0o600)
	os.WriteFile(open, []byte(d.Password+"\n"), 0o600)
	os.Chmod(open, 0o644)
	stopped := testkit.StartDaemon(t, testkit.DaemonOptions{})
	stopped.Stop()

	tests := []struct {
		name, dest, pass string
		check            string
		detail           string
	}{
		{"wrong password", d.URL(), wrong, "destination login", "refused the password"},
		{"unknown module", d.URL() + "x", d.PasswordFile, "destination module", "has no module"},
		{"0644 password file", d.URL(), open, "password file", "accessible by group or others"},
		{"stopped daemon", stopped.URL(), stopped.PasswordFile, "destination reachable", "cannot connect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines, code, out := runCheck(t, os.Environ(), "--dest", tc.dest, "--password-file", tc.pass)
			if code == 0 {
				t.Errorf("exit 0, want non-zero:\n%s", out)
			}
			l, ok := findCheck(lines, tc.check)
			if !ok || l.Result != "FAIL" || !strings.Contains(l.Detail+" "+l.Fix, tc.detail) {
				t.Errorf("want FAIL %q mentioning %q, got %+v\n%s", tc.check, tc.detail, l, out)
			}
			for _, other := range lines {
				if other.Result == "FAIL" && other.Check != tc.check {
					t.Errorf("unrelated FAIL %q: %s", other.Check, other.Detail)
				}
			}
		})
	}
}
