package bench

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"
)

var (
	fullFlag   = flag.Bool("full", false, "run TestBench (the full benchmark) and write the report")
	reportFlag = flag.String("report", "../../BENCHMARKS.md", "where TestBench writes its report")
)

// Sizes are the workload sizes; Full and smoke differ only here.
type Sizes struct {
	SeqBytes      int64 // sequential write/read file
	FioBytes      int64 // random 4 KiB write file
	SmallFiles    int   // create/stat/rm and the mirror burst
	SmallDirs     int   // directories holding them
	TreeFiles     int   // "one change in a huge tree" and mount-to-ready
	TreeDirs      int
	RenameFiles   int // files in the renamed directory
	RenameBytes   int64
	BigFile       int64 // the single big mirrored file
	Appends       int
	SteadyRate    int           // files per second
	SteadyFor     time.Duration // how long the steady load lasts
	MemoryChanges int           // pending changes for the RSS measurement
	MemoryBudget  time.Duration // stop generating changes after this long
	LinkReps      int           // repetitions of each change kind in the links cell
}

var fullSizes = Sizes{
	SeqBytes: 1 << 30, FioBytes: 256 << 20,
	SmallFiles: 10000, SmallDirs: 100,
	TreeFiles: 100000, TreeDirs: 10000,
	RenameFiles: 1000, RenameBytes: 100 << 20,
	BigFile: 1 << 30, Appends: 2000,
	SteadyRate: 200, SteadyFor: 60 * time.Second,
	MemoryChanges: 1000000, MemoryBudget: 12 * time.Minute,
	LinkReps: 9,
}

var smokeSizes = Sizes{
	SeqBytes: 4 << 20, FioBytes: 1 << 20,
	SmallFiles: 200, SmallDirs: 4,
	TreeFiles: 500, TreeDirs: 50,
	RenameFiles: 20, RenameBytes: 2 << 20,
	BigFile: 8 << 20, Appends: 50,
	SteadyRate: 20, SteadyFor: 2 * time.Second,
	MemoryChanges: 2000, MemoryBudget: 30 * time.Second,
	LinkReps: 2,
}

// Knobs are read from the environment so `make bench BENCH_RUNS=5` works.
type Knobs struct {
	Runs     int            // BENCH_RUNS: runs per cell (default 3)
	SlowRuns int            // BENCH_SLOW_RUNS: runs for lsyncd defaults and the script (default 1)
	Cap      time.Duration  // BENCH_CAP: longest wait for one mirror cell (default 90s)
	Cells    *regexp.Regexp // BENCH_CELLS: regexp over cell names, e.g. "data/|mirror/burst"
	Huge     bool           // BENCH_HUGE=1: the one-change tree has 1,000,000 files, and the links cell adds its 1,000,000-file tree
	Sizes    Sizes
	Smoke    bool
}

func loadKnobs(smoke bool) (Knobs, error) {
	k := Knobs{Runs: 3, SlowRuns: 1, Cap: 90 * time.Second, Sizes: fullSizes, Smoke: smoke}
	if smoke {
		k = Knobs{Runs: 1, SlowRuns: 1, Cap: 60 * time.Second, Sizes: smokeSizes, Smoke: true}
	}
	var err error
	geti := func(name string, dst *int) {
		if v := os.Getenv(name); v != "" && err == nil {
			if *dst, err = strconv.Atoi(v); err != nil || *dst < 1 {
				err = fmt.Errorf("%s=%q: want a positive integer", name, v)
			}
		}
	}
	geti("BENCH_RUNS", &k.Runs)
	geti("BENCH_SLOW_RUNS", &k.SlowRuns)
	if v := os.Getenv("BENCH_CAP"); v != "" && err == nil {
		if k.Cap, err = time.ParseDuration(v); err != nil {
			err = fmt.Errorf("BENCH_CAP=%q: want a duration such as 90s: %w", v, err)
		}
	}
	pattern := os.Getenv("BENCH_CELLS")
	if pattern == "" {
		pattern = "."
	}
	if k.Cells, err = regexp.Compile(pattern); err != nil {
		return k, fmt.Errorf("BENCH_CELLS=%q is not a regular expression: %w", pattern, err)
	}
	if os.Getenv("BENCH_HUGE") == "1" && !smoke {
		k.Huge = true
		k.Sizes.TreeFiles, k.Sizes.TreeDirs = 1000000, 100000
	}
	if v := os.Getenv("BENCH_MEMORY_CHANGES"); v != "" && err == nil {
		geti("BENCH_MEMORY_CHANGES", &k.Sizes.MemoryChanges)
	}
	return k, err
}

func (k Knobs) want(cell string) bool { return k.Cells.MatchString(cell) }

func mustCompile(t testing.TB, re string) *regexp.Regexp {
	t.Helper()
	r, err := regexp.Compile(re)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
