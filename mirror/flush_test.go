package mirror

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestFlushStopsARunningFullSync: a full sync that does not end (here an
// rsync that hangs on whole-tree runs) cannot hold a shutdown hostage:
// Flush stops it, ships the queue, and reports the full sync as still owed.
func TestFlushStopsARunningFullSync(t *testing.T) {
	dm := startDaemon(t)
	pw := passwordFile(t, daemonPass)
	real := requireRsync(t)
	dir := t.TempDir()
	started := filepath.Join(dir, "full-started")
	// Whole-tree runs are the ones with --delete but no file list.
	wrapper := fakeRsync(t, fmt.Sprintf("case \" $* \" in *' --files-from=- '*|*' --mkpath '*) exec %[1]q \"$@\";; *' --delete '*) : > %[2]q; exec sleep 600;; esac\nexec %[1]q \"$@\"", real, started))
	h := newHarness(t, dm.dest(), dm.module, true, func(c *Config) { c.PasswordFile, c.RsyncPath = pw, wrapper })
	go h.eng.Reconcile(context.Background())
	waitFor(t, "the full sync to start", func() bool { _, err := os.Stat(started); return err == nil })
	h.write("after", "made while the full sync runs")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	t0 := time.Now()
	rep, err := h.eng.Flush(ctx)
	t.Logf("Flush took %v", time.Since(t0))
	if err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Flush waited for the hanging full sync until its deadline")
	}
	if !slices.ContainsFunc(rep.Owed, func(o OwedSync) bool { return o.Reason == "requested" }) {
		t.Errorf("report %+v: the stopped full sync is not listed as owed", rep)
	}
	if got, err := os.ReadFile(filepath.Join(dm.module, "after")); err != nil || string(got) != "made while the full sync runs" {
		t.Errorf("the queued change did not ship: %q, %v", got, err)
	}
}
