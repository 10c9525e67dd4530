package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// audit is the "audit" object of `mirrorfs status --json`.
func (s status) audit() map[string]any {
	a, _ := s["audit"].(map[string]any)
	return a
}

func auditNum(a map[string]any, key string) float64 {
	v, _ := a[key].(float64)
	return v
}

// waitCompared waits until the audit has compared everything seen before
// since, and returns that status.
func (m *Mirror) waitCompared(t *testing.T, since time.Time) map[string]any {
	t.Helper()
	var a map[string]any
	testkit.Eventually(t, 30*time.Second, func() (bool, string) {
		a = m.Status(t).audit()
		cu, _ := a["compared_until"].(string)
		at, err := time.Parse(time.RFC3339Nano, cu)
		return err == nil && at.After(since), fmt.Sprintf("audit has not compared past %s: %v", since.Format(time.RFC3339Nano), a)
	})
	return a
}

// TestInotifyAudit: with --inotify-audit, a scripted set of changes made
// through the mount is seen both by the FUSE layer and by inotify on the
// mount, with no mismatch. A write to the backing directory behind the
// mount's back reaches neither side: the audit compares the FUSE capture
// with the kernel's view of the same mount, it cannot see around it.
func TestInotifyAudit(t *testing.T) {
	src := t.TempDir()
	m := mountMirror(t, mountOptions{Source: src, Args: []string{"--inotify-audit"}})
	testkit.Eventually(t, 30*time.Second, func() (bool, string) {
		a := m.Status(t).audit()
		return a["ready"] == true, fmt.Sprintf("audit not ready: %v", a)
	})
	p := func(rel string) string { return filepath.Join(m.Mnt, rel) }
	watches := func() float64 { return auditNum(m.Status(t).audit(), "watches") }

	must(t, os.WriteFile(p("a.txt"), []byte("a"), 0o644))
	must(t, os.Chmod(p("a.txt"), 0o600))
	w0 := watches()
	must(t, os.Mkdir(p("d"), 0o755))
	// inotify needs a watch on d before it can report inside it.
	testkit.Eventually(t, 10*time.Second, func() (bool, string) {
		return watches() > w0, "the audit added no watch for the new directory d"
	})
	must(t, os.WriteFile(p("d/b"), []byte("b"), 0o644))
	must(t, os.Rename(p("d/b"), p("c")))
	must(t, os.Rename(p("d"), p("e")))
	must(t, os.WriteFile(p("e/in-renamed"), []byte("x"), 0o644))
	must(t, os.Link(p("c"), p("c.link")))
	must(t, os.Symlink("c", p("c.sym")))
	must(t, os.Truncate(p("c"), 0))
	now := time.Now()
	must(t, os.Chtimes(p("c"), now, now))
	must(t, os.Remove(p("a.txt")))
	must(t, os.RemoveAll(p("e")))
	opsEnd := time.Now()

	a := m.waitCompared(t, opsEnd)
	if auditNum(a, "inotify_events") == 0 || auditNum(a, "fuse_events") == 0 {
		t.Errorf("audit counted no events: %v", a)
	}
	if auditNum(a, "missed_by_fuse") != 0 || auditNum(a, "missed_by_inotify") != 0 {
		t.Errorf("audit found mismatches for changes made through the mount: %v\nlog:\n%s", a, m.logText())
	}

	// Behind the mount's back: neither inotify on the mount nor the FUSE
	// layer sees it.
	before := a
	must(t, os.WriteFile(filepath.Join(src, "behind.txt"), []byte("bypass"), 0o644))
	a = m.waitCompared(t, time.Now())
	for _, k := range []string{"inotify_events", "fuse_events", "missed_by_fuse", "missed_by_inotify"} {
		if auditNum(a, k) != auditNum(before, k) {
			t.Errorf("a write to the backing directory changed audit %s: %v -> %v", k, before[k], a[k])
		}
	}
}
