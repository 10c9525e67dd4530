package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// verifyJSON is `mirrorfs verify --json`, the fields the test reads.
type verifyJSON struct {
	Differences []struct {
		Path      string `json:"path"`
		PathBytes []byte `json:"path_bytes"` // the path when it is not UTF-8
		Kind      string `json:"kind"`
		Item      string `json:"item"`
	} `json:"differences"`
	Count    int    `json:"count"`
	Dest     string `json:"dest"`
	Repaired bool   `json:"repaired"`
}

func (m *Mirror) verify(t *testing.T, args ...string) (verifyJSON, string, int) {
	t.Helper()
	out, errOut, code := m.cli(t, append(append([]string{"verify", "--json", "--timeout", syncTimeout.String()}, args...), m.Mnt)...)
	var v verifyJSON
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("mirrorfs verify --json (exit %d) printed no JSON: %v\nstdout: %s\nstderr: %s", code, err, out, errOut)
	}
	return v, errOut, code
}

// Changes made on the module behind mirrorfs's back (a file rewritten, one
// deleted, one added, one with an odd name rewritten) are all found, with
// their kind; --repair ships them, and verify then finds the copy equal.
func TestVerifyFindsAndRepairs(t *testing.T) {
	odd := map[string]string{
		"new\nline":        "a newline in the name",
		"high\xff\xfebyte": "not UTF-8",
		"-dash":            "looks like an option",
		`back\#012slash`:   "looks like an rsync escape",
		"tab\there":        "a tab",
	}
	m := mountMirror(t, mountOptions{Setup: func(t *testing.T, dir string) {
		for _, n := range []string{"changed", "deleted", "same"} {
			mustWriteFile(t, filepath.Join(dir, n), "original "+n)
		}
		for n, data := range odd {
			mustWriteFile(t, filepath.Join(dir, n), data)
		}
		os.Mkdir(filepath.Join(dir, "sub"), 0o755)
		mustWriteFile(t, filepath.Join(dir, "sub", "-x"), "x")
	}})
	m.Sync(t)
	if v, errOut, code := m.verify(t); code != exitcode.OK || v.Count != 0 {
		t.Fatalf("verify of a fresh mirror: exit %d, %+v\n%s", code, v, errOut)
	}

	mod := m.Daemon.Dir
	mustWriteFile(t, filepath.Join(mod, "changed"), "rewritten on the server")
	if err := os.Remove(filepath.Join(mod, "deleted")); err != nil {
		t.Fatal(err)
	}
	mustWriteFile(t, filepath.Join(mod, "extra"), "only on the server")
	for n := range odd {
		mustWriteFile(t, filepath.Join(mod, n), "rewritten: "+n)
	}
	mustWriteFile(t, filepath.Join(mod, "sub", "-x"), "changed too")

	v, errOut, code := m.verify(t)
	if code != exitcode.Differ {
		t.Errorf("verify after changes on the module: exit %d, want exitcode.Differ (%d)\n%s", code, exitcode.Differ, errOut)
	}
	want := map[string]string{"changed": "content", "deleted": "missing", "extra": "extra", "sub/-x": "content"}
	for n := range odd {
		want[n] = "content"
	}
	got := map[string]string{}
	for _, d := range v.Differences {
		if d.PathBytes != nil {
			d.Path = string(d.PathBytes)
		}
		got[d.Path] = d.Kind
	}
	for p, k := range want {
		if got[p] != k {
			t.Errorf("%q: kind %q, want %q", p, got[p], k)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok && p != "." { // the root's mtime moved with the module's changes
			t.Errorf("unexpected difference %q (%s)", p, got[p])
		}
	}
	if v.Count != len(v.Differences) {
		t.Errorf("count %d, %d listed", v.Count, len(v.Differences))
	}
	st := m.Status(t)
	if vs, _ := st["verify"].(map[string]any); vs == nil || vs["differences"] != float64(v.Count) {
		t.Errorf("status verify %v, want %d differences", st["verify"], v.Count)
	}

	// The text form lists one line per difference, odd names quoted.
	out, _, code := m.cli(t, "verify", m.Mnt)
	if code != exitcode.Differ || !strings.Contains(out, `"new\nline"`) || !strings.Contains(out, "extra") {
		t.Errorf("verify (text): exit %d\n%s", code, out)
	}

	rv, errOut, code := m.verify(t, "--repair")
	if code != exitcode.OK || !rv.Repaired {
		t.Fatalf("verify --repair: exit %d, %+v\n%s", code, rv, errOut)
	}
	if v, errOut, code := m.verify(t); code != exitcode.OK || v.Count != 0 {
		t.Errorf("verify after --repair: exit %d, %+v\n%s", code, v, errOut)
	}
	testkit.AssertTreesEqual(t, m.Data(), mod, testkit.CompareOptions{IgnoreRootMode: true, IgnoreRootMtime: true})
}

func mustWriteFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Verify runs beside shipping: files written, replaced and deleted through
// the mount while it compares are not reported as differences.
func TestVerifyDuringChanges(t *testing.T) {
	m := mountMirror(t, mountOptions{Setup: func(t *testing.T, dir string) {
		testkit.Populate(t, dir, testkit.PopulateOptions{Xattrs: true}) // every kind of object, odd names too
	}})
	m.Sync(t)
	busy := filepath.Join(m.Mnt, "busy")
	if err := os.Mkdir(busy, 0o755); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan int, 1)
	var once sync.Once
	writes := 0
	halt := func() int { once.Do(func() { close(stop); writes = <-done }); return writes }
	t.Cleanup(func() { halt() }) // before the unmount, even when the test fails
	go func() {
		n := 0
		defer func() { done <- n }()
		for ; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			p := filepath.Join(busy, fmt.Sprintf("f%d", n%50))
			if os.WriteFile(p, []byte(strings.Repeat("x", n%4000)), 0o644) != nil {
				return
			}
			if n%7 == 0 {
				os.Rename(p, p+".moved")
			}
			if n%11 == 0 {
				os.Remove(p + ".moved")
			}
		}
	}()
	var skipped int
	for range 3 {
		out, errOut, code := m.cli(t, "verify", "--json", "--timeout", syncTimeout.String(), m.Mnt)
		var v struct {
			Count        int `json:"count"`
			SkippedCount int `json:"skipped_count"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("verify --json: %v\n%s%s", err, out, errOut)
		}
		if code != exitcode.OK || v.Count != 0 {
			t.Errorf("verify while files change: exit %d, %s", code, out)
		}
		skipped += v.SkippedCount
	}
	halt()
	t.Logf("%d writes through the mount during 3 verifies; %d differing paths skipped as changing", writes, skipped)
	if writes == 0 {
		t.Fatal("the writer wrote nothing")
	}
	m.Sync(t)
	if v, errOut, code := m.verify(t); code != exitcode.OK {
		t.Errorf("verify once quiet: exit %d, %+v\n%s", code, v, errOut)
	}
}

// verify-interval runs verify on its own; status reports what it found,
// in JSON and in text.
func TestVerifyInterval(t *testing.T) {
	m := mountMirror(t, mountOptions{Args: []string{"--verify-interval", "500ms"}})
	mustWriteFile(t, filepath.Join(m.Mnt, "f"), "data")
	m.Sync(t)
	mustWriteFile(t, filepath.Join(m.Daemon.Dir, "extra"), "only on the server")
	deadline := time.Now().Add(syncTimeout)
	for {
		st := m.Status(t)
		vs, _ := st["verify"].(map[string]any)
		paths, _ := vs["paths"].([]any)
		if vs["last"] != nil && slices.Contains(paths, any("extra")) {
			if vs["next"] == nil || vs["differences"].(float64) < 1 {
				t.Errorf("status verify %v: want the next run and the difference counted", vs)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled verify found the extra file within %v: %v", syncTimeout, vs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _, code := m.cli(t, "status", m.Mnt)
	if code != 0 || !strings.Contains(out, "verify") || !strings.Contains(out, "difference(s)") {
		t.Errorf("status text (exit %d) does not show the verify:\n%s", code, out)
	}
}

// A destination that cannot be reached gives no verdict: one line saying
// why, an exit code that is neither 0 nor Differ.
func TestVerifyDestinationDown(t *testing.T) {
	m := mountMirror(t, mountOptions{})
	m.Daemon.Stop()
	t.Cleanup(m.Daemon.Start)
	out, errOut, code := m.cli(t, "verify", "--timeout", "60s", m.Mnt)
	if code != exitcode.Internal || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "verify") {
		t.Errorf("verify with the daemon down: exit %d, stdout %q, stderr %q; want exit %d and one line", code, out, errOut, exitcode.Internal)
	}
	t.Logf("verify with the daemon down: %s", errOut)
}
