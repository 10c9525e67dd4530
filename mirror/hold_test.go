package mirror

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

func TestParseHoldLimit(t *testing.T) {
	for _, tt := range []struct {
		in    string
		want  HoldLimit
		limit int // for a tree of 1000 files
		err   bool
	}{
		{"100", HoldLimit{Count: 100}, 100, false},
		{"10_000", HoldLimit{Count: 10000}, 10000, false},
		{"20%", HoldLimit{Percent: 20}, 200, false},
		{"0.5%", HoldLimit{Percent: 0.5}, 5, false},
		{"100%", HoldLimit{Percent: 100}, 1000, false},
		{"0", HoldLimit{}, 0, true},
		{"-3", HoldLimit{}, 0, true},
		{"0%", HoldLimit{}, 0, true},
		{"101%", HoldLimit{}, 0, true},
		{"x%", HoldLimit{}, 0, true},
		{"lots", HoldLimit{}, 0, true},
	} {
		got, err := ParseHoldLimit(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseHoldLimit(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.err)
			continue
		}
		if tt.err {
			continue
		}
		if n, ok := got.limit(1000, true); !ok || n != tt.limit {
			t.Errorf("%q: limit for 1000 files = %d, %v; want %d", tt.in, n, ok, tt.limit)
		}
	}
	if _, ok := (HoldLimit{Percent: 5}).limit(0, false); ok {
		t.Error("a percentage without a file count must not hold")
	}
}

// holdHarness is a source of n files in d/, mirrored once to a local
// directory, with hold-deletes=limit and the engine not running.
func holdHarness(t *testing.T, n, limit int, stateDir string, src, dst string) *harness {
	t.Helper()
	if src == "" {
		src, dst = t.TempDir(), t.TempDir()
		if err := os.Mkdir(filepath.Join(src, "d"), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			mustWrite(t, filepath.Join(src, "d", fmt.Sprint("f", i)), "x")
		}
		if out, err := command(requireRsync(t), "-a", src+"/", dst+"/"); err != nil {
			t.Fatalf("seeding the destination: %v: %s", err, out)
		}
	}
	return newHarnessAt(t, src, Destination{Kind: DestLocal, LocalDir: dst}, dst, false, func(c *Config) {
		c.InitialSync = false
		c.HoldDeletes = HoldLimit{Count: limit}
		c.StateDir = stateDir
	})
}

func TestHoldMassDelete(t *testing.T) {
	h := holdHarness(t, 30, 10, "", "", "")
	var events []Event
	h.eng.cfg.OnEvent = func(ev Event) { events = append(events, ev) }
	h.removeAll("d")
	if len(events) != 1 || events[0].Kind != EventHold || events[0].Count != 11 || len(events[0].Paths) != 11 {
		t.Fatalf("events = %+v, want one hold event for the 11 files held when it began", events)
	}
	h.write("new", "fresh")
	s := h.eng.Status().Held
	if s.Count != 30 || s.Since == nil || s.Reason == "" || len(s.Paths) != 31 {
		t.Fatalf("held = %+v, want 30 files (and d) held with a reason", s)
	}
	h.start()
	h.mustSync()
	if n := testkit.Entries(t, filepath.Join(h.dst, "d")); n != 30 {
		t.Fatalf("destination keeps %d of 30 files while held", n)
	}
	if _, err := os.Stat(filepath.Join(h.dst, "new")); err != nil {
		t.Fatalf("a new file made during the hold did not ship: %v", err)
	}
	// A full sync protects them too.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.eng.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if n := testkit.Entries(t, filepath.Join(h.dst, "d")); n != 30 {
		t.Fatalf("a full sync removed held files: %d of 30 left", n)
	}
	// A file made again at a held path is no longer held, and ships.
	h.mkdir("d")
	h.write("d/f3", "again")
	if got := h.eng.Status().Held.Count; got != 29 {
		t.Fatalf("held after re-creating d/f3 = %d, want 29", got)
	}
	if n := h.eng.Release("d/f1"); n != 1 {
		t.Fatalf("Release(d/f1) = %d, want 1", n)
	}
	h.mustSync()
	if _, err := os.Stat(filepath.Join(h.dst, "d", "f1")); !os.IsNotExist(err) {
		t.Fatalf("released d/f1 still on the destination: %v", err)
	}
	if n := h.eng.Release(""); n != 28 {
		t.Fatalf("Release() = %d, want 28", n)
	}
	h.mustSync()
	if n := testkit.Entries(t, filepath.Join(h.dst, "d")); n != 1 {
		t.Fatalf("after release the destination has %d files in d, want 1 (f3)", n)
	}
	if s := h.eng.Status().Held; s.Count != 0 || s.Since != nil {
		t.Fatalf("held after release = %+v", s)
	}
}

func TestHoldCounts(t *testing.T) {
	tests := []struct {
		name string
		do   func(h *harness)
		held int
	}{
		{"below the limit ships", func(h *harness) {
			for i := range 10 {
				h.removeAll(fmt.Sprint("d/f", i))
			}
		}, 0},
		{"rename of a big directory is no delete", func(h *harness) { h.rename("d", "e") }, 0},
		{"created then deleted counts nothing", func(h *harness) {
			h.mkdir("tmp")
			for i := range 20 {
				h.write(fmt.Sprint("tmp/t", i), "x")
			}
			h.removeAll("tmp")
		}, 0},
		{"one past the limit holds all", func(h *harness) {
			for i := range 11 {
				h.removeAll(fmt.Sprint("d/f", i))
			}
		}, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := holdHarness(t, 30, 10, "", "", "")
			tt.do(h)
			if got := h.eng.Status().Held.Count; got != tt.held {
				t.Fatalf("held = %d, want %d", got, tt.held)
			}
		})
	}
}

func TestHoldWindow(t *testing.T) {
	t.Run("shipped deletes leave the window", func(t *testing.T) {
		h := holdHarness(t, 30, 10, "", "", "")
		h.eng.cfg.HoldWindow = time.Millisecond
		h.start()
		for i := range 20 {
			h.removeAll(fmt.Sprint("d/f", i))
			h.mustSync()
			time.Sleep(2 * time.Millisecond) // past the window
		}
		if got := h.eng.Status().Held.Count; got != 0 {
			t.Fatalf("held = %d, want 0: each delete shipped and left the window", got)
		}
	})
	t.Run("waiting deletes count however old", func(t *testing.T) {
		h := holdHarness(t, 30, 10, "", "", "")
		now := time.Now()
		h.eng.now = func() time.Time { return now }
		for i := range 11 {
			now = now.Add(time.Hour) // far past the window, but not shipped
			h.removeAll(fmt.Sprint("d/f", i))
		}
		if got := h.eng.Status().Held.Count; got != 11 {
			t.Fatalf("held = %d, want 11: deletes waiting to ship count", got)
		}
	})
}

func TestHoldSurvivesRestart(t *testing.T) {
	state := t.TempDir()
	h := holdHarness(t, 20, 5, state, "", "")
	h.removeAll("d")
	if got := h.eng.Status().Held.Count; got != 20 {
		t.Fatalf("held = %d, want 20", got)
	}
	h.eng.Close()
	h2 := holdHarness(t, 0, 5, state, h.src, h.dst)
	s := h2.eng.Status().Held
	if s.Count != 20 || s.Reason == "" || s.Since == nil {
		t.Fatalf("held after restart = %+v, want the 20 files", s)
	}
	// Compaction keeps them too.
	if err := h2.eng.j.compactNow(); err != nil {
		t.Fatal(err)
	}
	h2.eng.Close()
	h3 := holdHarness(t, 0, 5, state, h.src, h.dst)
	if got := h3.eng.Status().Held.Count; got != 20 {
		t.Fatalf("held after compaction and restart = %d, want 20", got)
	}
	h3.start()
	h3.mustSync()
	if n := testkit.Entries(t, filepath.Join(h.dst, "d")); n != 20 {
		t.Fatalf("destination keeps %d of 20 held files", n)
	}
}

// TestHoldPercent: a percentage is of the files the start-up walk
// counted, before the window's deletes.
func TestHoldPercent(t *testing.T) {
	h := holdHarness(t, 30, 1, "", "", "")
	h.eng.cfg.HoldDeletes = HoldLimit{Percent: 10} // 3 of 30 files
	for i := range 3 {
		h.removeAll(fmt.Sprint("d/f", i))
	}
	if got := h.eng.Status().Held.Count; got != 0 {
		t.Fatalf("before the walk counted the files: held = %d, want 0", got)
	}
	h.eng.mu.Lock()
	h.eng.noteTreeFilesLocked(30 - 3)
	h.eng.mu.Unlock()
	h.removeAll("d/f3")
	if got := h.eng.Status().Held.Count; got != 4 {
		t.Fatalf("4 of 30 files deleted, hold-deletes=10%%: held = %d, want 4", got)
	}
}

// TestGuardRules: --delete runs from the source get one protect rule per
// held path, none below a held directory; other runs get none.
func TestGuardRules(t *testing.T) {
	e := &Engine{}
	e.hold.paths = map[string]bool{"d": true, "d/f": false, "d/e": true, "d/e/g": false, "x*y": false, "dd": false}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"list run", []string{"-a", "--delete-missing-args", sourceArg, "dst/"}, "P /d\x00P /dd\x00P /x\\*y\x00"},
		{"full sync", []string{"-a", "--delete", sourceArg, "dst/"}, "P /d\x00P /dd\x00P /x\\*y\x00"},
		{"no delete", []string{"-a", sourceArg, "dst/"}, ""},
		{"not from the source", []string{"-a", "--delete", "/proc/self/fd/4/", "dst/"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args, done, err := e.guardArgs(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			defer done()
			var got string
			for _, a := range args {
				if f, ok := strings.CutPrefix(a, "--filter=merge "); ok {
					b, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					got = string(b)
				}
			}
			if got != tt.want {
				t.Errorf("rules %q, want %q (args %q)", got, tt.want, args)
			}
			if n := len(args); args[n-2] != tt.args[len(tt.args)-2] || args[n-1] != "dst/" {
				t.Errorf("operands moved: %q", args)
			}
		})
	}
}
