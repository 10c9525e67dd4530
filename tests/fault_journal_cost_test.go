package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// TestJournalCost measures what the journal costs the applications:
// creating and deleting 10,000 files through the mount, with the journal
// and with --state-dir none, in alternating order within one run, and the
// time until the module has the result (sync --wait). Opt-in
// (MIRRORFS_BENCH_JOURNAL=1, rounds from MIRRORFS_BENCH_ROUNDS, default 5);
// it prints a table of medians and ratios.
func TestJournalCost(t *testing.T) {
	if os.Getenv("MIRRORFS_BENCH_JOURNAL") == "" {
		t.Skip("benchmark: MIRRORFS_BENCH_JOURNAL=1 to run")
	}
	rounds := 5
	if v := os.Getenv("MIRRORFS_BENCH_ROUNDS"); v != "" {
		fmt.Sscan(v, &rounds)
	}
	const n = 10000
	kinds := []string{"journal", "none"}
	cols := []string{"create", "create+sync", "delete", "delete+sync"}
	// Data, state and module on a journaled ext4 of its own: see
	// testkit.ScratchFS for why not the host's temp directory.
	scratch := testkit.ScratchFS(t, testkit.ScratchFSOptions{Size: 2 << 30})
	if err := os.Mkdir(filepath.Join(scratch, "module"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := testkit.StartDaemon(t, testkit.DaemonOptions{Dir: filepath.Join(scratch, "module")})
	res := map[string]map[string][]time.Duration{}
	for _, k := range kinds {
		res[k] = map[string][]time.Duration{}
	}
	for r := range rounds {
		order := kinds
		if r%2 == 1 {
			order = []string{kinds[1], kinds[0]}
		}
		for _, k := range order {
			run := filepath.Join(scratch, fmt.Sprintf("%s%d", k, r))
			state := "--state-dir=" + filepath.Join(run, "state")
			if k == "none" {
				state = "--state-dir=none"
			}
			if err := os.MkdirAll(filepath.Join(run, "data"), 0o755); err != nil {
				t.Fatal(err)
			}
			syscall.Sync()
			m := mountMirror(t, mountOptions{Daemon: d, Mnt: filepath.Join(run, "data"), Args: []string{state, "--no-initial-sync"}})
			names := make([]string, n)
			for i := range n {
				names[i] = filepath.Join(m.Mnt, fmt.Sprintf("f%05d", i))
			}
			start := time.Now()
			for _, p := range names {
				if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res[k]["create"] = append(res[k]["create"], time.Since(start))
			m.Sync(t)
			res[k]["create+sync"] = append(res[k]["create+sync"], time.Since(start))
			start = time.Now()
			for _, p := range names {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
			res[k]["delete"] = append(res[k]["delete"], time.Since(start))
			m.Sync(t)
			res[k]["delete+sync"] = append(res[k]["delete+sync"], time.Since(start))
			if out, code := m.Unmount(t); code != 0 {
				t.Fatalf("unmount: exit %d: %s", code, out)
			}
			m.Wait(t)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d files, %d rounds, medians (journal / --state-dir none = ratio)\n", n, rounds)
	fmt.Fprintf(&b, "| phase | journal | state-dir none | ratio |\n|---|---|---|---|\n")
	for _, c := range cols {
		j, o := median(res["journal"][c]), median(res["none"][c])
		fmt.Fprintf(&b, "| %s | %.3f s | %.3f s | %.2f |\n", c, j.Seconds(), o.Seconds(), j.Seconds()/o.Seconds())
	}
	for _, k := range kinds {
		for _, c := range cols {
			fmt.Fprintf(&b, "raw %s %s: %v\n", k, c, res[k][c])
		}
	}
	t.Log(b.String())
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
