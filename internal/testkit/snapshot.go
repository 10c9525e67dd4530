package testkit

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// Snapshot copies dir (with hard links, xattrs, ACLs and times) into a new
// temporary directory and returns its path, so a test can later check that
// dir was left untouched with AssertTreesEqual(t, dir, snap, ...).
// cp -a, unlike rsync, keeps sub-second mtimes of directories and symlinks,
// so the snapshot passes CompareOptions.ExactSpecialMtime.
func Snapshot(t testing.TB, dir string) string {
	t.Helper()
	snap := filepath.Join(t.TempDir(), "snapshot")
	out, err := exec.Command("cp", "-a", "--", dir, snap).CombinedOutput()
	if err != nil {
		t.Fatalf("snapshot of %s: %v\n%s", dir, err, out)
	}
	return snap
}
