package mirror

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

func verifyNow(t *testing.T, h *harness) VerifyResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := h.eng.Verify(ctx)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func diffKinds(res VerifyResult) map[string]DiffKind {
	m := map[string]DiffKind{}
	for _, d := range res.Differences {
		m[d.Path] = d.Kind
	}
	return m
}

// Differences made behind the engine's back are found with their kind,
// the backup directory and excluded paths are left out, and Repair makes
// the destination equal.
func TestVerifyFindsAndRepairs(t *testing.T) {
	dst := t.TempDir()
	d, _ := ParseDestination(dst)
	x, err := NewExclude([]string{`^skip/`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, d, dst, true, func(c *Config) { c.BackupDir = ".versions"; c.Exclude = x })
	for _, p := range []string{"same", "changed", "gone", "mode", "new\nline", "-dash"} {
		h.write(p, "data of "+p)
	}
	h.mustSync()
	if res := verifyNow(t, h); !res.Equal() {
		t.Fatalf("a fresh mirror differs: %+v", res)
	}
	mustWrite(t, filepath.Join(dst, "changed"), "other data")
	os.Remove(filepath.Join(dst, "gone"))
	mustWrite(t, filepath.Join(dst, "extra"), "x")
	mustWrite(t, filepath.Join(dst, "new\nline"), "not the same")
	os.Chmod(filepath.Join(dst, "mode"), 0o600)
	mustWrite(t, filepath.Join(dst, ".versions", "old"), "kept")
	mustWrite(t, filepath.Join(dst, "skip", "f"), "excluded")
	// An unchanged size and time: only the checksum can tell.
	st, _ := os.Stat(filepath.Join(h.src, "same"))
	mustWrite(t, filepath.Join(dst, "same"), "DATA of same")
	os.Chtimes(filepath.Join(dst, "same"), st.ModTime(), st.ModTime())

	res := verifyNow(t, h)
	want := map[string]DiffKind{"changed": DiffContent, "gone": DiffMissing, "extra": DiffExtra, "new\nline": DiffContent, "mode": DiffAttributes, "same": DiffContent}
	got := diffKinds(res)
	delete(got, ".") // the root's mtime moved with the extra file
	if len(got) != len(want) || res.Count != len(res.Differences) {
		t.Errorf("differences %v (count %d), want %v", got, res.Count, want)
	}
	for p, k := range want {
		if got[p] != k {
			t.Errorf("%q: kind %q, want %q", p, got[p], k)
		}
	}
	if st := h.eng.Status().Verify; st.Differences != res.Count || st.Last == nil || st.Running {
		t.Errorf("status after verify: %+v", st)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.eng.Repair(ctx, res); err != nil {
		t.Fatalf("Repair: %v", err)
	}
	if after := verifyNow(t, h); !after.Equal() {
		t.Errorf("after Repair: %v", diffKinds(after))
	}
	if _, err := os.Stat(filepath.Join(dst, ".versions", "old")); err != nil {
		t.Errorf("the backup directory was touched: %v", err)
	}
}

// A path queued or changed while verify runs is skipped, not reported.
func TestVerifySkipsPendingPaths(t *testing.T) {
	dst := t.TempDir()
	d, _ := ParseDestination(dst)
	h := newHarness(t, d, dst, false, func(c *Config) { c.InitialSync = false })
	mustWrite(t, filepath.Join(h.src, "queued"), "q")
	h.add(change.Change{Op: change.OpWrite, Path: "queued"})
	res := verifyNow(t, h)
	if res.Count != 0 || !slices.Contains(res.Skipped, "queued") || res.Note == "" {
		t.Errorf("a queued path: %+v", res)
	}
}

// verify-interval runs Verify beside the scheduler and reports it in Status.
func TestVerifyInterval(t *testing.T) {
	dst := t.TempDir()
	d, _ := ParseDestination(dst)
	h := newHarness(t, d, dst, true, func(c *Config) { c.VerifyInterval = 100 * time.Millisecond })
	h.write("f", "data")
	h.mustSync()
	mustWrite(t, filepath.Join(dst, "extra"), "x")
	waitFor(t, "a scheduled verify to find the extra file", func() bool {
		st := h.eng.Status().Verify
		return st.Last != nil && slices.Contains(st.Paths, "extra") && st.Next != nil
	})
}
