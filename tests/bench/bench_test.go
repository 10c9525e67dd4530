package bench

import (
	"fmt"
	"os"
	"testing"
)

// TestSmoke runs every workload at tiny size: it checks that each completes
// and that every tree converges, never how fast.
func TestSmoke(t *testing.T) {
	k, err := loadKnobs(true)
	if err != nil {
		t.Fatal(err)
	}
	ensureTools(t)
	onScratch(t, k)
	tools := []string{pMirrorfs, pLsyncdTuned, pScript} // lsyncd defaults only adds its 15 s delay, mirrorfs delay=0 nothing new
	res := newResults()
	base := t.TempDir()
	runDataPath(t, k, res, base)
	runMirrorPath(t, k, res, base, tools)
	runLinks(t, k, res, base)
	var mem []memPoint
	if k.want("memory") {
		mem = memory(t, k, res, base)
	}
	for metric, byTarget := range res.m {
		for target, s := range byTarget {
			if s.err != "" || s.capped > 0 {
				msg := fmt.Sprintf("%s %s did not converge: %s", metric, target, s.err)
				if target == pMirrorfs {
					t.Error(msg)
				} else {
					t.Log(msg)
				}
			}
		}
	}
	for _, c := range dataCells(cellInputs{}) {
		if k.want("data/"+c.name) && len(res.lookup("data/"+c.name, tMirrorfs).vals) != k.Runs {
			t.Errorf("data/%s: no result for mirrorfs", c.name)
		}
	}
	for _, n := range linkSizes(k) {
		c := linkCellName(n)
		if !k.want(c) {
			continue
		}
		// Correctness, not timing: every change reached the module (checked
		// in the cell) without a whole-tree run.
		before, after := linkVal(res, c, "reconcile-before"), linkVal(res, c, "reconcile-after")
		if s := res.lookup(c+":file", pMirrorfs); s == nil || len(s.vals) == 0 || before != after || res.noteOf(c+":owed") != "" {
			t.Errorf("%s: reconcile.count %v before the changes, %v after (owed: %q): want no whole-tree run", c, before, after, res.noteOf(c+":owed"))
		}
	}
	if k.want("memory") && (len(mem) < 2 || mem[len(mem)-1].pending < k.Sizes.MemoryChanges) {
		t.Errorf("memory: expected %d pending changes, got %+v", k.Sizes.MemoryChanges, mem)
	}
	report, err := writeReport(t.TempDir()+"/BENCHMARKS.md", k, res, mem)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("smoke report:\n%s", report)
}

// TestBench is `make bench`: full sizes, several runs, report written to
// -report (BENCHMARKS.md at the repository root). It runs only with -full.
func TestBench(t *testing.T) {
	if !*fullFlag {
		t.Skip("the full benchmark runs with -full (make bench)")
	}
	k, err := loadKnobs(false)
	if err != nil {
		t.Fatal(err)
	}
	ensureTools(t)
	if os.Getenv("BENCH_SCRATCH") != "0" {
		onScratch(t, k)
	}
	res := newResults()
	base := t.TempDir()
	var mem []memPoint
	defer func() {
		// Write whatever was measured, also when a cell failed.
		report, err := writeReport(*reportFlag, k, res, mem)
		if err != nil {
			t.Errorf("writing %s: %v", *reportFlag, err)
		}
		fmt.Fprintln(os.Stdout, report)
	}()
	runDataPath(t, k, res, base)
	runMirrorPath(t, k, res, base, peers)
	runLinks(t, k, res, base)
	if k.want("memory") {
		mem = memory(t, k, res, base)
	}
}
