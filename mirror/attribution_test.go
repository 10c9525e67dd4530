package mirror

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// swapUnderRsync ships n files with a bandwidth-limited rsync and, once
// rsync has started, replaces the last listed file by replace. Only that
// path may fail; every other one ships and is never reported as failed.
// With linked, the other files are pairs of hard links.
// It returns the engine's log.
func swapUnderRsync(t *testing.T, n int, linked bool, replace func(t *testing.T, path string)) string {
	dm := startDaemon(t)
	pw := passwordFile(t, daemonPass)
	real := requireRsync(t)
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	// The first list run goes slowly, so the swap lands between rsync's
	// file list and its opening the last file; later runs go at full speed.
	wrapper := fakeRsync(t, fmt.Sprintf("for a; do case $a in --files-from=-) if [ ! -e %[1]q ]; then : > %[1]q; exec %[2]q --bwlimit=400 \"$@\"; fi;; esac; done\nexec %[2]q \"$@\"", started, real))
	var mu sync.Mutex
	failedFor := map[string]int{}
	h := newHarness(t, dm.dest(), dm.module, false, func(c *Config) {
		c.PasswordFile, c.RsyncPath = pw, wrapper
		c.OnShipped = func(s []Shipped) {
			mu.Lock()
			defer mu.Unlock()
			for _, x := range s {
				if x.Err != "" {
					failedFor[x.Path]++
				}
			}
		}
	})
	data := make([]byte, 4096)
	for i := range n {
		p := fmt.Sprintf("f%04d", i)
		if linked && i%2 == 1 && i < n-1 {
			if err := os.Link(h.abs(fmt.Sprintf("f%04d", i-1)), h.abs(p)); err != nil {
				t.Fatal(err)
			}
			h.add(change.Change{Op: change.OpLink, Path: p, From: fmt.Sprintf("f%04d", i-1)})
			continue
		}
		h.write(p, string(data))
	}
	last := fmt.Sprintf("f%04d", n-1)
	h.start() // all n in one batch
	go func() {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(started); err == nil {
				time.Sleep(300 * time.Millisecond)
				replace(t, h.abs(last))
				// As the mount reports it.
				h.add(change.Change{Op: change.OpUnlink, Path: last})
				h.add(change.Change{Op: change.OpCreate, Path: last})
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	waitFor(t, "every path shipped", func() bool {
		_, err := h.sync(60 * time.Second)
		return err == nil && h.eng.Status().Pending == 0
	})
	compareTrees(t, h.src, dm.module, nil)
	mu.Lock()
	defer mu.Unlock()
	if failedFor[last] == 0 {
		t.Errorf("%s changed type under rsync but was never reported as failed: the swap missed the transfer", last)
	}
	delete(failedFor, last)
	if len(failedFor) > 0 {
		t.Errorf("%d other path(s) reported as failed because of %s: %v", len(failedFor), last, failedFor)
	}
	return h.logs.String()
}

// TestFailureStaysWithItsPath: a listed file that turns into a socket
// under rsync ("No such device or address") fails alone, also among
// hard-linked files.
func TestFailureStaysWithItsPath(t *testing.T) {
	for _, linked := range []bool{false, true} {
		t.Run(fmt.Sprintf("linked=%v", linked), func(t *testing.T) {
			swapUnderRsync(t, 1000, linked, toSocket)
		})
	}
}

// TestStuckOpenStaysWithItsPath: a listed file that turns into a FIFO
// under rsync leaves its sender blocked in open(2), which rsync's own
// --timeout does not cover. The run is killed at once, that path is
// retried on its own, and the others ship.
func TestStuckOpenStaysWithItsPath(t *testing.T) {
	if log := swapUnderRsync(t, 1000, true, toFIFO); !strings.Contains(log, "hung opening") {
		t.Errorf("the log does not say rsync hung opening the FIFO:\n%s", log)
	}
}

func toFIFO(t *testing.T, p string) {
	if err := os.Remove(p); err != nil {
		t.Error(err)
		return
	}
	if err := unix.Mkfifo(p, 0o644); err != nil {
		t.Error(err)
	}
}

func toSocket(t *testing.T, p string) {
	if err := os.Remove(p); err != nil {
		t.Error(err)
		return
	}
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Error(err)
		return
	}
	t.Cleanup(func() { l.Close() })
}
