package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

type fileVersion struct {
	Stamp string `json:"stamp"`
	Size  int64  `json:"size"`
}

func (m *Mirror) versions(t *testing.T, path string) []fileVersion {
	t.Helper()
	out, errOut, code := m.cli(t, "versions", "--json", m.Mnt, path)
	if code != exitcode.OK {
		t.Fatalf("mirrorfs versions %s: exit %d: %s", path, code, errOut)
	}
	var vs []fileVersion
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("versions --json printed %q: %v", out, err)
	}
	return vs
}

// TestVersionsOnDestination: overwriting and deleting a file leave its
// old contents in dated version directories on the module, `versions`
// lists them newest first, a full sync leaves them alone, and
// keep-versions=2 prunes the older ones.
func TestVersionsOnDestination(t *testing.T) {
	state := stateDirArg(t)
	m := mountMirror(t, mountOptions{Args: []string{state, "--backup-dir", ".versions"}})
	f := filepath.Join(m.Mnt, "docs", "f.txt")
	must(t, os.Mkdir(filepath.Join(m.Mnt, "docs"), 0o755))
	contents := []string{"one", "two!", "three!!", "four!!!!"} // sizes differ: rsync's quick check sees each
	for _, c := range contents {
		write(t, f, c)
		m.Sync(t)
	}
	must(t, os.Remove(f))
	m.Sync(t)

	vs := m.versions(t, "docs/f.txt")
	if len(vs) != len(contents) {
		t.Fatalf("versions = %+v, want %d", vs, len(contents))
	}
	vdir := filepath.Join(m.Daemon.Dir, ".versions")
	for i, v := range vs {
		want := contents[len(contents)-1-i] // newest first: the deleted content
		got, err := os.ReadFile(filepath.Join(vdir, v.Stamp, "docs", "f.txt"))
		if err != nil || string(got) != want || v.Size != int64(len(want)) {
			t.Errorf("version %d %s: %q (%v), size %d; want %q", i, v.Stamp, got, err, v.Size, want)
		}
	}
	text, _, code := m.cli(t, "versions", m.Mnt, filepath.Join(m.Mnt, "docs/f.txt"))
	if code != 0 || !strings.Contains(text, vs[0].Stamp) || !strings.HasPrefix(text, "stamp") {
		t.Errorf("versions (text): exit %d:\n%s", code, text)
	}
	if _, errOut, code := m.cli(t, "sync", "--full", "--wait", m.Mnt); code != 0 {
		t.Fatalf("sync --full: exit %d: %s", code, errOut)
	}
	if n := testkit.Entries(t, vdir); n != len(contents) {
		t.Fatalf("after sync --full %d version directories, want %d", n, len(contents))
	}
	if _, err := os.Stat(filepath.Join(m.Mnt, ".versions")); !os.IsNotExist(err) {
		t.Fatalf("the version tree was mirrored back into the data directory: %v", err)
	}

	// Retention: remount with keep-versions=2; the first batch prunes.
	if out, code := m.Unmount(t); code != 0 {
		t.Fatalf("unmount: exit %d: %s", code, out)
	}
	m.Wait(t)
	m2 := m.remount(t, state, "--backup-dir", ".versions", "--keep-versions", "2")
	write(t, filepath.Join(m2.Mnt, "trigger"), "a batch")
	m2.Sync(t)
	testkit.Eventually(t, syncTimeout, func() (bool, string) {
		n := testkit.Entries(t, vdir)
		return n == 2, fmt.Sprintf("%d version directories, want 2", n)
	})
	got := m2.versions(t, "docs/f.txt")
	if len(got) != 2 || got[0].Stamp != vs[0].Stamp || got[1].Stamp != vs[1].Stamp {
		t.Fatalf("after pruning to 2: %+v, want the newest two of %+v", got, vs)
	}
	if !strings.Contains(m2.logText(), "old versions pruned") {
		t.Errorf("the log does not report the pruning:\n%s", m2.logText())
	}
}

// TestVersionsLocalDest: backup-dir and `versions` work for a local
// directory destination too.
func TestVersionsLocalDest(t *testing.T) {
	dst := t.TempDir()
	m := mountMirror(t, mountOptions{Dest: dst, Args: []string{"--backup-dir", "old/versions"}})
	f := filepath.Join(m.Mnt, "a b.txt")
	write(t, f, "first")
	m.Sync(t)
	write(t, f, "second!")
	m.Sync(t)
	vs := m.versions(t, "a b.txt")
	if len(vs) != 1 {
		t.Fatalf("versions = %+v, want 1", vs)
	}
	got, err := os.ReadFile(filepath.Join(dst, "old", "versions", vs[0].Stamp, "a b.txt"))
	if err != nil || string(got) != "first" {
		t.Fatalf("the version holds %q (%v), want \"first\"", got, err)
	}
}

// TestSafetyBadInput: bad hold-deletes, backup-dir and keep-versions values
// stop the mount with one line and the usage exit code; so do the
// release and versions commands given the wrong arguments.
func TestSafetyBadInput(t *testing.T) {
	requireE2E(t)
	d := testkit.StartDaemon(t, testkit.DaemonOptions{})
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"hold-deletes zero", []string{"--hold-deletes", "0"}, "hold-deletes"},
		{"hold-deletes percent", []string{"-o", "hold-deletes=150%"}, "percentage"},
		{"backup-dir absolute", []string{"--backup-dir", "/srv/versions"}, "absolute"},
		{"backup-dir dotdot", []string{"--backup-dir", "../versions"}, "climbs out"},
		{"keep-versions bad", []string{"--backup-dir", ".v", "--keep-versions", "30x"}, "keep-versions"},
		{"keep-versions alone", []string{"--keep-versions", "10"}, "needs backup-dir"},
		{"backup-dir twice", []string{"--backup-dir", ".v", "--backup-dir", ".w"}, "backup-dir"},
		{"hold-window zero", []string{"--hold-deletes", "10", "--hold-window", "0"}, "hold-window"},
		{"prune-interval zero", []string{"--backup-dir", ".v", "--keep-versions", "3", "--prune-interval", "0"}, "prune-interval"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mnt := t.TempDir()
			args := append([]string{"mount", "--dest", d.URL(), "--password-file", d.PasswordFile}, tt.args...)
			stderr, code := runMountExpectingFailure(t, nil, mnt, append(args, mnt)...)
			if code != exitcode.Usage {
				t.Errorf("exit %d, want %d (usage): %s", code, exitcode.Usage, stderr)
			}
			checkOneLineError(t, stderr)
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not name %q: %s", tt.want, stderr)
			}
		})
	}
	env := []string{"MIRRORFS_RUN_DIR=" + t.TempDir()}
	for _, args := range [][]string{{"versions", "/x"}, {"versions", "/mnt", "/elsewhere/f"}, {"release", "/a", "/b"}} {
		_, stderr, code := runMirrorfs(t, env, args...)
		if code != exitcode.Usage {
			t.Errorf("mirrorfs %s: exit %d, want %d: %s", strings.Join(args, " "), code, exitcode.Usage, stderr)
		}
		checkOneLineError(t, stderr)
	}
}
