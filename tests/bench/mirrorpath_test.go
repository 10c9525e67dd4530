package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// expect is what the module must hold once a workload has arrived: a cheap
// check polled while timing, confirmed by a full TreeDiff afterwards.
type expect struct {
	present []expFile
	absent  []string
}

type expFile struct {
	rel  string
	size int64
}

// mirrorCell is one mirror-path workload.
type mirrorCell struct {
	name    string
	desc    string
	shared  bool // works on the shared big tree instead of a fresh one
	prepare func(t testing.TB, k Knobs, src string)
	run     func(t testing.TB, k Knobs, src string, seq int) expect
}

func mirrorCells() []mirrorCell {
	return []mirrorCell{
		{name: "burst", desc: "burst of small files (4 KiB) in 100 directories",
			run: func(t testing.TB, k Knobs, src string, _ int) expect {
				names, err := makeTree(filepath.Join(src, "burst"), k.Sizes.SmallFiles, k.Sizes.SmallDirs, 4096)
				must(t, err)
				var e expect
				for _, n := range names {
					e.present = append(e.present, expFile{"burst/" + n, 4096})
				}
				return e
			}},
		{name: "onechange", desc: "append to one file in the big tree", shared: true,
			run: func(t testing.TB, k Knobs, src string, seq int) expect {
				i := (seq*7919 + 13) % k.Sizes.TreeFiles
				dirs := k.Sizes.TreeDirs
				d := fmt.Sprintf("d%03d", i%dirs)
				if dirs > 100 {
					d = fmt.Sprintf("d%03d/s%04d", (i%dirs)%100, (i%dirs)/100)
				}
				rel := fmt.Sprintf("%s/f%07d", d, i)
				f, err := os.OpenFile(filepath.Join(src, rel), os.O_WRONLY|os.O_APPEND, 0)
				must(t, err)
				_, err = f.WriteString("one more line\n")
				must(t, err)
				must(t, f.Close())
				st, err := os.Lstat(filepath.Join(src, rel))
				must(t, err)
				return expect{present: []expFile{{rel, st.Size()}}}
			}},
		{name: "rename", desc: "rename a directory of 1,000 files / 100 MB",
			prepare: func(t testing.TB, k Knobs, src string) {
				_, err := makeTree(filepath.Join(src, "big"), k.Sizes.RenameFiles, 1, k.Sizes.RenameBytes/int64(k.Sizes.RenameFiles))
				must(t, err)
			},
			run: func(t testing.TB, k Knobs, src string, _ int) expect {
				must(t, os.Rename(filepath.Join(src, "big"), filepath.Join(src, "big2")))
				size := k.Sizes.RenameBytes / int64(k.Sizes.RenameFiles)
				var e expect
				for i := range k.Sizes.RenameFiles {
					e.present = append(e.present, expFile{fmt.Sprintf("big2/d000/f%07d", i), size})
				}
				e.absent = []string{"big"}
				return e
			}},
		{name: "rm-rf", desc: "rm -rf of small files in 100 directories",
			prepare: func(t testing.TB, k Knobs, src string) {
				_, err := makeTree(filepath.Join(src, "many"), k.Sizes.SmallFiles, k.Sizes.SmallDirs, 4096)
				must(t, err)
			},
			run: func(t testing.TB, k Knobs, src string, _ int) expect {
				mustRun(t, 10*time.Minute, "rm", "-rf", filepath.Join(src, "many"))
				return expect{absent: []string{"many"}}
			}},
		{name: "bigfile", desc: "write one big file",
			run: func(t testing.TB, k Knobs, src string, _ int) expect {
				must(t, writeFile(filepath.Join(src, "big.bin"), k.Sizes.BigFile))
				return expect{present: []expFile{{"big.bin", k.Sizes.BigFile}}}
			}},
		{name: "appends", desc: "appends of 100 bytes to one file (open, write, close each)",
			run: func(t testing.TB, k Knobs, src string, _ int) expect {
				line := []byte(strings.Repeat("x", 99) + "\n")
				for range k.Sizes.Appends {
					f, err := os.OpenFile(filepath.Join(src, "log.txt"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
					must(t, err)
					_, err = f.Write(line)
					must(t, err)
					must(t, f.Close())
				}
				return expect{present: []expFile{{"log.txt", int64(k.Sizes.Appends * 100)}}}
			}},
	}
}

// pushTree makes module subdirectory sub equal to src with a plain rsync.
func pushTree(t testing.TB, d *testkit.Daemon, src, sub string) {
	t.Helper()
	mkdirModule(t, d, sub)
	mustRun(t, 30*time.Minute, "rsync", "-a", "--delete", "--password-file="+d.PasswordFile, src+"/", d.URL()+"/"+sub+"/")
}

// arrived polls the module until e holds and TreeDiff finds src and module
// equal, or until deadline. It returns when that was first observed.
// onCheck runs each time the cheap check passes, before the full comparison
// (which reads the whole tree, through mirrorfs's mount for mirrorfs).
func arrived(ctx context.Context, src, module string, e expect, onCheck func()) (time.Time, []string) {
	next := 0
	opts := testkit.CompareOptions{IgnoreDirMtime: true, IgnoreRootMtime: true, IgnoreRootMode: true}
	var diffs []string
	for {
		for next < len(e.present) {
			st, err := os.Lstat(filepath.Join(module, e.present[next].rel))
			if err != nil || st.Size() != e.present[next].size {
				break
			}
			next++
		}
		if next == len(e.present) {
			gone := true
			for _, a := range e.absent {
				if _, err := os.Lstat(filepath.Join(module, a)); err == nil {
					gone = false
				}
			}
			if gone {
				at := time.Now()
				onCheck()
				if diffs = testkit.TreeDiff(src, module, opts); len(diffs) == 0 {
					return at, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			if diffs == nil {
				diffs = []string{fmt.Sprintf("cheap check still waiting at %d of %d files (or a deleted path still present)", next, len(e.present))}
			}
			return time.Time{}, diffs
		case <-time.After(10 * time.Millisecond):
		}
	}
}

var receivedRe = regexp.MustCompile(`received ([0-9,]+) bytes`)

// receivedSince sums the "received N bytes" session totals the daemon logged
// after offset.
func receivedSince(d *testkit.Daemon, offset int64) int64 {
	b, err := os.ReadFile(d.LogFile)
	if err != nil || int64(len(b)) < offset {
		return -1
	}
	var total int64
	for _, m := range receivedRe.FindAllStringSubmatch(string(b[offset:]), -1) {
		n, _ := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
		total += n
	}
	return total
}

func logSize(d *testkit.Daemon) int64 {
	st, err := os.Stat(d.LogFile)
	if err != nil {
		return 0
	}
	return st.Size()
}

// sharedTree builds the big tree once, natively, and pushes it to "tree".
func sharedTree(t *testing.T, k Knobs, d *testkit.Daemon, base string) string {
	src := filepath.Join(base, "tree")
	start := time.Now()
	_, err := makeTree(src, k.Sizes.TreeFiles, k.Sizes.TreeDirs, 100)
	must(t, err)
	pushTree(t, d, src, "tree")
	t.Logf("shared tree: %d files in %d directories, built and pushed in %v", k.Sizes.TreeFiles, k.Sizes.TreeDirs, time.Since(start).Round(time.Second))
	return src
}

func runsFor(k Knobs, peer string) int {
	if slowPeer(peer) {
		return min(k.SlowRuns, k.Runs)
	}
	return k.Runs
}

// runMirrorPath runs every selected mirror cell for every selected tool.
func runMirrorPath(t *testing.T, k Knobs, res *results, base string, tools []string) {
	cells := mirrorCells()
	wantTree := k.want("mirror/ready") || k.want("mirror/onechange")
	var selected []mirrorCell
	for _, c := range cells {
		if k.want("mirror/" + c.name) {
			selected = append(selected, c)
		}
	}
	if len(selected) == 0 && !wantTree && !k.want("mirror/steady") {
		return
	}
	d := newDaemon(t)
	var tree string
	if wantTree {
		tree = sharedTree(t, k, d, base)
	}
	seq := 0
	for _, c := range selected {
		for pi, peer := range tools {
			for run := range runsFor(k, peer) {
				seq++
				work := filepath.Join(base, fmt.Sprintf("%s-%d-%d", c.name, pi, run))
				must(t, os.MkdirAll(work, 0o755))
				src, sub := filepath.Join(work, "src"), fmt.Sprintf("%s-%d-%d", c.name, pi, run)
				if c.shared {
					src, sub = tree, "tree"
				} else {
					must(t, os.MkdirAll(src, 0o755))
					if c.prepare != nil {
						c.prepare(t, k, src)
					}
				}
				pushTree(t, d, src, sub)
				capped := mirrorOnce(t, k, res, d, c, peer, src, sub, work, seq)
				if !c.shared {
					os.RemoveAll(filepath.Join(src, "big.bin")) // free 1 GiB now; small trees go at the end
					os.RemoveAll(filepath.Join(d.Dir, sub, "big.bin"))
				}
				if capped && slowPeer(peer) {
					break
				}
			}
		}
	}
	if k.want("mirror/ready") {
		for _, peer := range tools {
			for run := range runsFor(k, peer) {
				pushTree(t, d, tree, "tree")
				quiesce(t)
				r := startPeer(t, peer, d, "tree", tree, filepath.Join(base, fmt.Sprintf("ready-%s-%d", strings.ReplaceAll(peer, " ", "_"), run)))
				res.add("mirror/ready", peer, r.readyAt.Sub(r.started).Seconds())
				res.add("mirror/ready:synced", peer, r.syncedAt.Sub(r.started).Seconds())
				t.Logf("run %d mirror/ready %s: ready %v, in sync %v", run+1, peer, r.readyAt.Sub(r.started), r.syncedAt.Sub(r.started))
				r.stop(t)
			}
		}
	}
	if k.want("mirror/steady") {
		for pi, peer := range tools {
			steady(t, k, res, d, peer, filepath.Join(base, fmt.Sprintf("steady-%d", pi)), fmt.Sprintf("steady-%d", pi))
		}
	}
}

func mkdirs(p string) error { return os.MkdirAll(p, 0o755) }

// mirrorOnce runs one cell once for one tool and records time, CPU and
// (for rename) the bytes the daemon received. It reports whether it hit the cap.
func mirrorOnce(t *testing.T, k Knobs, res *results, d *testkit.Daemon, c mirrorCell, peer, src, sub, work string, seq int) bool {
	metric := "mirror/" + c.name
	r := startPeer(t, peer, d, sub, src, work)
	defer r.stop(t)
	quiesce(t)
	off := logSize(d)
	cpu0 := r.cpu()
	start := time.Now()
	e := c.run(t, k, src, seq)
	writes := time.Since(start)
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(k.Cap))
	var cpu1 time.Duration
	var recv int64
	at, diffs := arrived(ctx, src, filepath.Join(d.Dir, sub), e, func() {
		// CPU and bytes at arrival: the verification that follows would
		// otherwise be billed to mirrorfs, which serves the reads.
		cpu1 = r.cpu()
	})
	cancel()
	if !at.IsZero() {
		time.Sleep(500 * time.Millisecond) // the daemon logs a session's totals as it ends
		recv = receivedSince(d, off)
	}
	if at.IsZero() {
		res.capped(metric, peer)
		res.fail(metric, peer, testkit.FormatDiffs(diffs))
		t.Logf("%s %s: not equal after the %v cap (writes took %v): %s", metric, peer, k.Cap, writes.Round(time.Millisecond), testkit.FormatDiffs(firstN(diffs, 5)))
		return true
	}
	res.add(metric, peer, at.Sub(start).Seconds())
	res.add(metric+":cpu", peer, (cpu1 - cpu0).Seconds())
	res.add(metric+":writes", peer, writes.Seconds())
	if c.name == "rename" {
		res.add(metric+":received", peer, float64(recv))
	}
	t.Logf("%s %s: %v (writes %v, cpu %v)", metric, peer, at.Sub(start).Round(time.Millisecond), writes.Round(time.Millisecond), cpu1-cpu0)
	return false
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
