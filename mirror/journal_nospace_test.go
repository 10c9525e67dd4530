package mirror

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/testkit"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// smallTmpfs mounts a tmpfs of size bytes on a new directory and removes it
// when the test ends (lazily if something still holds it open).
func smallTmpfs(t *testing.T, size string) string {
	t.Helper()
	testkit.Require(t, "root")
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size="+size+",mode=0755"); err != nil {
		t.Fatalf("mounting a %s tmpfs: %v", size, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmounting the tmpfs %s: %v; detaching it", dir, err)
			unix.Unmount(dir, unix.MNT_DETACH)
		}
	})
	return dir
}

// fill writes dir/fill until the filesystem has no room left; the returned
// func frees the space again.
func fill(t *testing.T, dir string) (free func()) {
	t.Helper()
	name := filepath.Join(dir, "fill")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err = f.Write(chunk); err != nil {
			break
		}
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling %s: %v, want ENOSPC", dir, err)
	}
	for len(chunk) > 1 { // the last partial pages
		chunk = chunk[:len(chunk)/2]
		f.Write(chunk)
	}
	return func() {
		if err := os.Remove(name); err != nil {
			t.Fatal(err)
		}
	}
}

// readDir returns every file of dir with its contents.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string]string)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

// newWithin runs New in a goroutine and fails the test if it does not
// return within d.
func newWithin(t *testing.T, d time.Duration, cfg Config) (*Engine, error) {
	t.Helper()
	type result struct {
		e   *Engine
		err error
	}
	c := make(chan result, 1)
	go func() {
		e, err := New(cfg)
		c <- result{e, err}
	}()
	select {
	case r := <-c:
		return r.e, r.err
	case <-time.After(d):
		t.Fatalf("mirror.New did not return within %v (hung opening the journal in %s)", d, cfg.StateDir)
		return nil, nil
	}
}

// TestJournalStartNoSpace: a journal left by a crash cannot be rewritten at
// the next start because its filesystem is full. New reports that, with
// ENOSPC visible to errors.Is, within seconds; it leaves the journal as it
// was, so once space is freed the next start replays it.
func TestJournalStartNoSpace(t *testing.T) {
	state := filepath.Join(smallTmpfs(t, "256k"), "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	// What a crashed run leaves: 300 changes, no clean marker.
	b := appendRecord(nil, &record{kind: recHeader})
	for i := range 300 {
		b = appendRecord(b, &record{kind: recAdd, seq: uint64(i + 1), kinds: change.Of(change.Create), path: fmt.Sprintf("f%03d", i)})
	}
	if err := os.WriteFile(filepath.Join(state, journalFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, lockFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	before := readDir(t, state)
	free := fill(t, filepath.Dir(state))

	src, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	cfg := testConfig(func(c *Config) {
		c.Source, c.Dest, c.StateDir = src, Destination{Kind: DestLocal, LocalDir: t.TempDir()}, state
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	e, err := newWithin(t, 10*time.Second, cfg)
	if err == nil {
		e.Close()
		t.Fatal("New succeeded although the journal cannot be rewritten")
	}
	t.Logf("New: %v", err)
	var je *JournalError
	if !errors.As(err, &je) || je.Dir != state {
		t.Errorf("error %q (%T) is not a *JournalError for %s", err, err, state)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("errors.Is(%q, ENOSPC) is false", err)
	}
	if strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("error is not one line: %q", err)
	}
	if after := readDir(t, state); !maps.Equal(after, before) {
		t.Errorf("the state directory changed: files %v, want %v", slices.Sorted(maps.Keys(after)), slices.Sorted(maps.Keys(before)))
	}

	// Space is back: the same journal is replayed, after an unclean stop.
	free()
	e, err = newWithin(t, 10*time.Second, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if st := e.Status(); st.Recovery.Start != StartUnclean || st.Recovery.Replayed != 300 {
		t.Errorf("after freeing space: recovery %+v, want start=%s replayed=300", st.Recovery, StartUnclean)
	}
}

// TestJournalNoSpaceWhileRunning: the journal's filesystem fills up while
// the engine runs. Journaling stops, loudly (log and status), and nothing
// else does: changes keep shipping, Close returns at once with the error.
// No clean marker is written, so the next start reconciles.
func TestJournalNoSpaceWhileRunning(t *testing.T) {
	for _, how := range []string{"append", "compaction"} {
		t.Run(how, func(t *testing.T) {
			state := filepath.Join(smallTmpfs(t, "256k"), "state")
			dst := t.TempDir()
			h := journalHarness(t, Destination{Kind: DestLocal, LocalDir: dst}, dst, state, t.TempDir())
			h.start()
			h.write("before", "b")
			h.mustSync()
			free := fill(t, filepath.Dir(state))

			if how == "compaction" {
				err := h.eng.j.compactNow()
				if !errors.Is(err, syscall.ENOSPC) {
					t.Errorf("compaction on a full disk: %v, want ENOSPC", err)
				}
				if _, err := os.Stat(filepath.Join(state, journalFile+".tmp")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a failed compaction left its partial copy behind: %v", err)
				}
			}
			// More records than the free tail of the log's last page.
			for i := range 200 {
				h.write(fmt.Sprintf("during-%03d-%s", i, strings.Repeat("x", 40)), "d")
			}
			waitFor(t, "the journal error in status", func() bool {
				return strings.Contains(h.eng.Status().Journal.Error, "no space left on device")
			})
			h.mustSync() // shipping goes on
			compareTrees(t, h.src, dst, nil)
			if !strings.Contains(h.logs.String(), "journal stopped") {
				t.Errorf("no log line says the journal stopped:\n%s", h.logs.String())
			}
			h.stop()
			done := make(chan error, 1)
			go func() { done <- h.eng.Close() }()
			select {
			case err := <-done:
				var je *JournalError
				if !errors.As(err, &je) || !errors.Is(err, syscall.ENOSPC) {
					t.Errorf("Close: %v, want the *JournalError with ENOSPC", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Close did not return within 10s")
			}

			free()
			h2 := journalHarness(t, Destination{Kind: DestLocal, LocalDir: dst}, dst, state, h.src)
			defer h2.eng.Close()
			if st := h2.eng.Status(); st.Recovery.Start != StartUnclean {
				t.Errorf("after a run whose journal broke: recovery %+v, want start=%s (reconcile)", st.Recovery, StartUnclean)
			}
		})
	}
}

// TestJournalCloseWithoutWriter: close and compactNow return on a journal
// whose writer never started or has stopped.
func TestJournalCloseWithoutWriter(t *testing.T) {
	state := t.TempDir()
	for _, started := range []bool{false, true} {
		j, _, err := openJournal(state, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if started {
			if err := j.start(func() []byte { return appendRecord(nil, &record{kind: recHeader}) }); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := j.close(true); err != nil {
				t.Errorf("close (started %v): %v", started, err)
			}
			if err := j.compactNow(); err == nil {
				t.Errorf("compactNow after close (started %v) succeeded", started)
			}
			j.close(true) // twice is harmless
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("close or compactNow hung (writer started: %v)", started)
		}
	}
}
