package fs

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// recorder is a Reporter that keeps every change: as reported in raw,
// and without the Writing flag (which TestWriting checks) in changes.
type recorder struct {
	mu      sync.Mutex
	changes []change.Change
	raw     []change.Change
}

func (r *recorder) Report(c change.Change) {
	r.mu.Lock()
	r.raw = append(r.raw, c)
	c.Writing = false
	r.changes = append(r.changes, c)
	r.mu.Unlock()
}

// takeRaw returns the changes as reported so far and forgets them.
func (r *recorder) takeRaw() []change.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.raw
	r.raw, r.changes = nil, nil
	return c
}

// take returns the changes recorded so far and forgets them.
func (r *recorder) take() []change.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.changes
	r.changes, r.raw = nil, nil
	return c
}

// waitFor polls until pred holds for the changes recorded so far.
func (r *recorder) waitFor(t *testing.T, what string, pred func([]change.Change) bool) []change.Change {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		c := slices.Clone(r.changes)
		r.mu.Unlock()
		if pred(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s; recorded: %v", what, c)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// requireFuse skips without FUSE, but fails under CI=true: there a
// missing /dev/fuse or fusermount3 is a broken test machine.
func requireFuse(t *testing.T) {
	t.Helper()
	testkit.Require(t, "fuse")
}

type testMount struct {
	backing string // the backing directory, outside the mount
	mnt     string
	m       *Mount
	rec     *recorder
	log     *lockedWriter // go-fuse debug output when opts.Debug
}

// debugLog is what go-fuse logged so far (opts.Debug).
func (tm *testMount) debugLog() string {
	tm.log.mu.Lock()
	defer tm.log.mu.Unlock()
	return tm.log.w.String()
}

// mountTest mounts a fresh backing directory with a recording Reporter.
func mountTest(t *testing.T, tweak func(*Options)) *testMount {
	t.Helper()
	requireFuse(t)
	dir := t.TempDir()
	tm := &testMount{
		backing: filepath.Join(dir, "backing"),
		mnt:     filepath.Join(dir, "mnt"),
		rec:     &recorder{},
		log:     &lockedWriter{w: &bytes.Buffer{}},
	}
	for _, d := range []string{tm.backing, tm.mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.Open(tm.backing)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	opts := Options{
		Backing:    b,
		Mountpoint: tm.mnt,
		Reporter:   tm.rec,
		Logger:     slog.New(slog.NewTextHandler(tm.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if tweak != nil {
		tweak(&opts)
	}
	tm.m = mountOrFail(t, opts)
	return tm
}

// mountOrFail mounts and registers the unmount, lazily as a last resort.
func mountOrFail(t *testing.T, opts Options) *Mount {
	t.Helper()
	m, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { unmountForCleanup(t, m.Mountpoint(), m.Unmount) })
	return m
}

func unmountForCleanup(t *testing.T, mnt string, unmount func() error) {
	var err error
	for range 20 {
		if err = unmount(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("unmount %s: %v; detaching it", mnt, err)
	if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
		exec.Command("fusermount3", "-u", "-z", mnt).Run()
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// waitReleased waits until the kernel has released every writable handle:
// RELEASE is asynchronous to close(2), and a late one would report into
// the next step's changes.
func (tm *testMount) waitReleased(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tm.m.root.writers.len() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("writable handles still open 10s after the setup closed its files")
		}
		time.Sleep(time.Millisecond)
	}
}
