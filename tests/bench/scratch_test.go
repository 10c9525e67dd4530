package bench

import (
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// scratchNote says where the run's files lived, for the report header.
var scratchNote = "the host's temp directory"

// onScratch moves the run's temporary directories (data, modules, peers'
// trees) to a fresh journaled ext4 on a loop device, the same for every
// tool, so that the host's filesystem does not set the pace (see
// testkit.ScratchFS). The smoke run goes on without one when the machine
// has no loop devices; the full benchmark does not.
func onScratch(t *testing.T, k Knobs) {
	opts := testkit.ScratchFSOptions{Size: 2 << 30}
	if !k.Smoke {
		opts = testkit.ScratchFSOptions{Size: 64 << 30, Inodes: 4 << 20}
		if k.Huge {
			opts.Inodes = 8 << 20
		}
	}
	mnt, cleanup, err := testkit.MountScratchFS(opts)
	if err != nil {
		if !k.Smoke {
			t.Fatalf("%v (BENCH_SCRATCH=0 runs on the host's temp directory instead)", err)
		}
		t.Logf("%v: the smoke run uses the host's temp directory", err)
		return
	}
	registerMount(mnt)
	t.Cleanup(func() {
		if err := cleanup(); err != nil {
			t.Log(err)
		}
	})
	// Before the test's first t.TempDir(), which then lands here too.
	t.Setenv("TMPDIR", mnt)
	scratchNote = "a fresh ext4 with its journal on a loop device (mkfs.ext4 defaults)"
}
