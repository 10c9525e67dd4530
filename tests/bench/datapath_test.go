package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// Data-path targets, in report order.
const (
	tNative   = "native"
	tLoopback = "go-fuse loopback"
	// tPassthroughLL is libfuse's passthrough_ll example (C, low-level API),
	// built at the start of the run, run with its defaults (cache=auto, 1 s
	// timeouts, no xattrs): the speed a C FUSE passthrough gets here.
	tPassthroughLL = "passthrough_ll (C)"
	tMirrorfs      = "mirrorfs"
	// tCapture is mirrorfs with shipping held back (delay = max-delay =
	// 1 h) until the cell is over: what capture and the journal cost the
	// workload, without rsync competing for the CPU while it runs.
	tCapture = "mirrorfs, shipping deferred"
)

var dataTargets = []string{tNative, tLoopback, tPassthroughLL, tMirrorfs, tCapture}

// dataCell is one data-path workload. run does the timed part in dir and
// returns the measured value (seconds, or IOPS when iops is set).
type dataCell struct {
	group string // cells of a group depend on each other and run together
	name  string
	desc  string
	iops  bool
	run   func(t testing.TB, k Knobs, dir string, q func()) float64
}

// cellInputs is what some cells need prepared before the run: the tarball
// to untar and the offline module proxy to install from.
type cellInputs struct {
	tarball string
	goProxy string // file:// URL of a module download cache holding every module of ../../go.mod
}

// A target is a directory the workloads run in, natively or through a mount.
type target struct {
	name    string
	dir     string
	settle  func() // untimed: wait for background work (mirrorfs shipping)
	cleanup func()
}

func dataCells(in cellInputs) []dataCell {
	tarball := in.tarball
	timed := func(f func()) float64 {
		start := time.Now()
		f()
		return time.Since(start).Seconds()
	}
	return []dataCell{
		{"seq", "seqwrite", "sequential write (1 MiB blocks, fsync at the end)", false, func(t testing.TB, k Knobs, dir string, _ func()) float64 {
			return timed(func() { must(t, writeSync(filepath.Join(dir, "seq.bin"), k.Sizes.SeqBytes)) })
		}},
		{"seq", "seqread-cold", "sequential read, caches dropped", false, func(t testing.TB, k Knobs, dir string, _ func()) float64 {
			return timed(func() { must(t, readAll(filepath.Join(dir, "seq.bin"))) })
		}},
		{"seq", "seqread-warm", "sequential read, file in page cache", false, func(t testing.TB, k Knobs, dir string, _ func()) float64 {
			must(t, readAll(filepath.Join(dir, "seq.bin"))) // warm it (after the cell's cache drop)
			v := timed(func() { must(t, readAll(filepath.Join(dir, "seq.bin"))) })
			must(t, os.Remove(filepath.Join(dir, "seq.bin")))
			return v
		}},
		{"fio", "fio-randwrite", "fio random 4 KiB writes (psync, buffered, end_fsync), IOPS", true, func(t testing.TB, k Knobs, dir string, _ func()) float64 {
			v := fioRandWrite(t, dir, k.Sizes.FioBytes)
			os.Remove(filepath.Join(dir, "randwrite.0.0"))
			return v
		}},
		{"append", "open-append-close", "open(O_APPEND), write 100 B, close, again and again on one file", false, func(t testing.TB, k Knobs, dir string, _ func()) float64 {
			path := filepath.Join(dir, "appended")
			v := timed(func() { must(t, appendCycles(path, k.Sizes.Appends, 100)) })
			must(t, os.Remove(path))
			return v
		}},
		{"many", "create", "create files of 4 KiB", false, func(t testing.TB, k Knobs, dir string, _ func()) float64 {
			return timed(func() {
				_, err := makeTree(filepath.Join(dir, "many"), k.Sizes.SmallFiles, k.Sizes.SmallDirs, 4096)
				must(t, err)
			})
		}},
		{"many", "stat-cold", "lstat every file, caches dropped", false, func(t testing.TB, k Knobs, dir string, _ func()) float64 {
			return timed(func() { must(t, statTree(filepath.Join(dir, "many"), k.Sizes.SmallFiles, k.Sizes.SmallDirs)) })
		}},
		{"many", "stat-warm", "lstat every file again", false, func(t testing.TB, k Knobs, dir string, _ func()) float64 {
			must(t, statTree(filepath.Join(dir, "many"), k.Sizes.SmallFiles, k.Sizes.SmallDirs))
			return timed(func() { must(t, statTree(filepath.Join(dir, "many"), k.Sizes.SmallFiles, k.Sizes.SmallDirs)) })
		}},
		{"git", "untar", "untar a Go source tree (go-fuse + x/sys from the module cache)", false, func(t testing.TB, k Knobs, dir string, _ func()) float64 {
			must(t, os.Mkdir(filepath.Join(dir, "src"), 0o755))
			return timed(func() { mustRun(t, 10*time.Minute, "tar", "-xf", tarball, "-C", filepath.Join(dir, "src")) })
		}},
		{"git", "find-cat", "find | xargs cat over the untarred tree, caches dropped", false, func(t testing.TB, k Knobs, dir string, _ func()) float64 {
			return timed(func() {
				mustRun(t, 10*time.Minute, "sh", "-c", `find "$1" -type f -print0 | xargs -0 cat >/dev/null`, "sh", filepath.Join(dir, "src"))
			})
		}},
		{"many", "rm-rf", "rm -rf of the created files", false, func(t testing.TB, k Knobs, dir string, _ func()) float64 {
			return timed(func() { mustRun(t, 10*time.Minute, "rm", "-rf", filepath.Join(dir, "many")) })
		}},
		{"pkg", "pkg-install", "package install: `go mod download` of mirrorfs's dependencies into a fresh module cache, from an offline file:// proxy", false, func(t testing.TB, k Knobs, dir string, _ func()) float64 {
			return goModDownload(t, in.goProxy, filepath.Join(dir, "pkg"))
		}},
	}
}

// appendCycles opens path for appending, writes size bytes and closes it,
// n times: a log written by short-lived processes.
func appendCycles(path string, n, size int) error {
	buf := block()[:size]
	for range n {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// goModProxy checks, offline (GOPROXY=off), that the host's module cache
// holds every module mirrorfs's go.mod needs, and returns that cache's
// download directory as a file:// proxy. The package-install cell installs
// from it, so it runs without the network.
func goModProxy(t testing.TB) string {
	t.Helper()
	cache := filepath.Clean(trimNL(mustRun(t, time.Minute, "go", "env", "GOMODCACHE")))
	cmd := exec.Command("go", "mod", "download")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the module cache %s lacks mirrorfs's dependencies (run go mod download once): %v\n%s", cache, err, out)
	}
	return "file://" + filepath.Join(cache, "cache", "download")
}

// goModDownload is a real package manager's install, offline: a copy of
// mirrorfs's go.mod and go.sum in root/proj, then `go mod download` with
// GOMODCACHE (and GOCACHE) in root, fetching from proxy. The go command
// reads each module's .info, .mod and .zip, checks them against go.sum,
// writes them to the download cache and extracts every file read-only,
// under lock files: about 1,150 files, 1,270 entries, 31 MB. Timed: the
// download alone; root is removed afterwards, untimed.
func goModDownload(t testing.TB, proxy, root string) float64 {
	t.Helper()
	proj := filepath.Join(root, "proj")
	must(t, os.MkdirAll(proj, 0o755))
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join("../..", f))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(proj, f), b, 0o644))
	}
	cmd := exec.Command("go", "mod", "download")
	cmd.Dir = proj
	cmd.Env = append(os.Environ(), "GOPROXY="+proxy, "GOSUMDB=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local",
		"GOWORK=off", "GOMODCACHE="+filepath.Join(root, "gomod"), "GOCACHE="+filepath.Join(root, "gocache"))
	start := time.Now()
	out, err := cmd.CombinedOutput()
	v := time.Since(start).Seconds()
	if err != nil {
		t.Fatalf("go mod download in %s: %v\n%s", proj, err, out)
	}
	// The extracted tree is read-only (0555 directories): make it writable
	// again, as go clean -modcache does, before removing it.
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	must(t, os.RemoveAll(root))
	return v
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeSync is writeFile made durable: the sequential-write cell includes
// the flush to disk, as a native write benchmark does.
func writeSync(path string, size int64) error { return writePattern(path, size, true) }

func readAll(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyBuffer(io.Discard, f, make([]byte, 1<<20))
	return err
}

func statTree(root string, files, dirs int) error {
	for i := range files {
		d := fmt.Sprintf("d%03d", i%dirs)
		if dirs > 100 {
			d = fmt.Sprintf("d%03d/s%04d", (i%dirs)%100, (i%dirs)/100)
		}
		if _, err := os.Lstat(filepath.Join(root, d, fmt.Sprintf("f%07d", i))); err != nil {
			return err
		}
	}
	return nil
}

func fioRandWrite(t testing.TB, dir string, size int64) float64 {
	out := mustRun(t, 10*time.Minute, "fio", "--name=randwrite", "--directory="+dir, "--rw=randwrite",
		"--bs=4k", fmt.Sprintf("--size=%d", size), "--ioengine=psync", "--end_fsync=1",
		"--randrepeat=1", "--output-format=json")
	var res struct {
		Jobs []struct {
			Write struct {
				IOPS float64 `json:"iops"`
			} `json:"write"`
		} `json:"jobs"`
	}
	if i := indexJSON(out); i >= 0 {
		out = out[i:]
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Jobs) == 0 {
		t.Fatalf("parsing fio output: %v\n%s", err, out)
	}
	return res.Jobs[0].Write.IOPS
}

func indexJSON(s string) int {
	for i, c := range s {
		if c == '{' {
			return i
		}
	}
	return -1
}

// makeTarball packs go-fuse and x/sys from the module cache: a real source
// tree (a few thousand files) with git-like shape.
func makeTarball(t testing.TB) (string, int) {
	t.Helper()
	cache := mustRun(t, time.Minute, "go", "env", "GOMODCACHE")
	cache = filepath.Clean(trimNL(cache))
	var dirs []string
	for _, m := range []string{"github.com/hanwen/go-fuse/v2@", "golang.org/x/sys@"} {
		matches, _ := filepath.Glob(filepath.Join(cache, m+"*"))
		if len(matches) > 0 {
			rel, _ := filepath.Rel(cache, matches[len(matches)-1])
			dirs = append(dirs, rel)
		}
	}
	if len(dirs) == 0 {
		t.Fatalf("no go-fuse or x/sys in the module cache %s: run go mod download", cache)
	}
	tarball := filepath.Join(t.TempDir(), "src.tar")
	mustRun(t, 5*time.Minute, append([]string{"tar", "-cf", tarball, "-C", cache}, dirs...)...)
	n := 0
	out := mustRun(t, time.Minute, "tar", "-tf", tarball)
	for _, l := range splitLines(out) {
		if l != "" && l[len(l)-1] != '/' {
			n++
		}
	}
	return tarball, n
}

// dataTargetsFor sets up the targets for one run below base.
func dataTargetsFor(t testing.TB, base string, d *testkit.Daemon, pllBin string, run int) []target {
	t.Helper()
	native := filepath.Join(base, fmt.Sprintf("native-%d", run))
	must(t, os.MkdirAll(native, 0o755))

	pllSrc := filepath.Join(base, fmt.Sprintf("pll-src-%d", run))
	pllMp := filepath.Join(base, fmt.Sprintf("pll-mnt-%d", run))
	must(t, os.MkdirAll(pllSrc, 0o755))
	must(t, os.MkdirAll(pllMp, 0o755))
	registerMount(pllMp)
	pp := startProc(t, "passthrough_ll", filepath.Join(base, fmt.Sprintf("pll-%d.log", run)), nil, pllBin, "-f", "-o", "source="+pllSrc, pllMp)
	stopPll := func() {
		exec.Command("fusermount3", "-u", pllMp).Run()
		select {
		case <-pp.exited:
		case <-time.After(10 * time.Second):
		}
		pp.kill(time.Second)
		lazyUnmount(pllMp)
	}
	t.Cleanup(stopPll)
	if ok, _ := pollFast(30*time.Second, func() (bool, string) { return mountType(pllMp) == "fuse.passthrough_ll", "" }); !ok {
		t.Fatalf("passthrough_ll mount on %s not ready:\n%s", pllMp, pp.output())
	}

	loopSrc := filepath.Join(base, fmt.Sprintf("loop-src-%d", run))
	loopMp := filepath.Join(base, fmt.Sprintf("loop-mnt-%d", run))
	must(t, os.MkdirAll(loopSrc, 0o755))
	must(t, os.MkdirAll(loopMp, 0o755))
	registerMount(loopMp)
	lp := startProc(t, "loopback", filepath.Join(base, fmt.Sprintf("loop-%d.log", run)), nil, loopbackBin, loopSrc, loopMp)
	stopLoop := func() {
		exec.Command("fusermount3", "-u", loopMp).Run()
		select {
		case <-lp.exited:
		case <-time.After(10 * time.Second):
		}
		lp.kill(time.Second)
		lazyUnmount(loopMp)
	}
	t.Cleanup(stopLoop)
	if ok, _ := pollFast(30*time.Second, func() (bool, string) { return mountType(loopMp) == "fuse.benchloop", "" }); !ok {
		t.Fatalf("loopback mount on %s not ready:\n%s", loopMp, lp.output())
	}

	sub := fmt.Sprintf("data-%d", run)
	mkdirModule(t, d, sub)
	mfsDir := filepath.Join(base, fmt.Sprintf("mirrorfs-%d", run))
	m := startMirrorfs(t, d, sub, mfsDir)
	m.syncWait(t, 5*time.Minute)
	mkdirModule(t, d, sub+"-deferred")
	capDir := filepath.Join(base, fmt.Sprintf("capture-%d", run))
	c := startMirrorfs(t, d, sub+"-deferred", capDir, "--delay", "1h", "--max-delay", "1h")
	c.syncWait(t, 5*time.Minute)

	return []target{
		{name: tNative, dir: native, settle: func() {}, cleanup: func() {}},
		{name: tLoopback, dir: loopMp, settle: func() {}, cleanup: stopLoop},
		{name: tPassthroughLL, dir: pllMp, settle: func() {}, cleanup: stopPll},
		{name: tMirrorfs, dir: mfsDir, settle: func() { m.syncWait(t, 10*time.Minute) }, cleanup: func() { m.stop(t) }},
		{name: tCapture, dir: capDir, settle: func() { c.syncWait(t, 10*time.Minute) }, cleanup: func() { c.stop(t) }},
	}
}

// runDataPath runs every selected data cell, every run, every target; the
// targets are interleaved per cell so drift hits them alike.
func runDataPath(t *testing.T, k Knobs, res *results, base string) {
	groups := map[string]bool{}
	for _, c := range dataCells(cellInputs{}) {
		groups[c.group] = groups[c.group] || k.want("data/"+c.name)
	}
	var cells []dataCell
	var in cellInputs
	if groups["git"] {
		var nfiles int
		in.tarball, nfiles = makeTarball(t)
		res.note("tarfiles", fmt.Sprint(nfiles))
	}
	if groups["pkg"] {
		in.goProxy = goModProxy(t)
	}
	for _, c := range dataCells(in) {
		if groups[c.group] {
			cells = append(cells, c)
		}
	}
	if len(cells) == 0 {
		return
	}
	pllBin := buildPassthroughLL(t, base)
	res.note("data-load-start", loadAvg())
	defer func() { res.note("data-load-end", loadAvg()) }()
	d := newDaemon(t)
	for run := range k.Runs {
		targets := dataTargetsFor(t, base, d, pllBin, run)
		for _, c := range cells {
			// Later cells use what earlier ones left (seq.bin, many/, src/):
			// run a deselected prerequisite untimed.
			for _, tg := range rotate(targets, run) {
				// Every target, not only this one: a mirrorfs still shipping
				// the previous measurement would slow the next target's.
				for _, o := range targets {
					o.settle()
				}
				quiesce(t)
				v := c.run(t, k, tg.dir, nil)
				if k.want("data/" + c.name) {
					res.add("data/"+c.name, tg.name, v)
				}
			}
			t.Logf("run %d data/%s: %s", run+1, c.name, lastValues(res, "data/"+c.name))
		}
		for _, tg := range targets {
			tg.settle()
			tg.cleanup()
		}
		for _, tg := range targets {
			os.RemoveAll(tg.dir)
		}
	}
}

// buildPassthroughLL compiles libfuse's passthrough_ll example from
// libfuse3-dev into dir, as its documentation says to, and returns the
// binary. Neither the source nor the binary lives in the repository.
func buildPassthroughLL(t testing.TB, dir string) string {
	t.Helper()
	testkit.Require(t, "cc", "pkg-config", testkit.PassthroughLLSource)
	src := filepath.Join(dir, "passthrough_ll-src")
	must(t, os.MkdirAll(src, 0o755))
	for _, f := range []string{"passthrough_ll.c", "passthrough_helpers.h"} {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(testkit.PassthroughLLSource), f))
		if err != nil {
			t.Fatalf("%v (libfuse3-dev ships it: apt-get install -y libfuse3-dev)", err)
		}
		must(t, os.WriteFile(filepath.Join(src, f), b, 0o644))
	}
	flags := strings.Fields(mustRun(t, time.Minute, "pkg-config", "--cflags", "--libs", "fuse3"))
	bin := filepath.Join(dir, "passthrough_ll")
	mustRun(t, 5*time.Minute, append([]string{"cc", "-O2", "-o", bin, filepath.Join(src, "passthrough_ll.c")}, flags...)...)
	return bin
}

func rotate(ts []target, n int) []target {
	n %= len(ts)
	return append(append([]target{}, ts[n:]...), ts[:n]...)
}

func lastValues(res *results, metric string) string {
	s := ""
	for _, tg := range dataTargets {
		if se := res.lookup(metric, tg); se != nil && len(se.vals) > 0 {
			s += fmt.Sprintf(" %s=%.4g", tg, se.vals[len(se.vals)-1])
		}
	}
	return s
}
