package bench

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
	"golang.org/x/sys/unix"
)

// The links cell (issue "hardlinks"): in a big tree holding link groups
// made before the mount, how long a change to a hard-linked file takes
// from the system call through the mount until `mirrorfs sync --wait`
// returns, against a new plain file in the same tree and the same run.
// The engine keeps every name of a multi-linked inode together, so none
// of these changes should cost a whole-tree run: status's reconcile.count
// is read before and after the measured changes.
//
// Only mirrorfs is measured: lsyncd's default.rsync (archive = true) and
// the article's script run rsync without -H, so they ship the names of a
// linked file as separate copies; there is nothing equivalent to time.
//
// The tree is made natively and mirrorfs mounts with --no-initial-sync,
// so the module does not need a copy of the whole tree: at full size it
// starts empty and receives only what the measured changes ship (deltas).
// The smoke run pushes the tree first (rsync -aH) and then also compares
// the whole module with the source, link groups included.

// Change kinds, in the order of the first repetition; each repetition
// starts one further on, so every kind takes every position.
var linkKinds = []string{"file", "link", "rename", "unlink"}

var linkKindText = map[string]string{
	"file":   "new plain file (baseline)",
	"link":   "new hard link to an existing file",
	"rename": "rename one name of a linked file",
	"unlink": "unlink one name of a linked file",
}

// linkSizes are the tree sizes of the cell: 100,000 files, and 1,000,000
// with BENCH_HUGE=1 (building that tree natively and walking it at mount
// take minutes); the smoke run uses its tiny tree.
func linkSizes(k Knobs) []int {
	if k.Smoke {
		return []int{k.Sizes.TreeFiles}
	}
	if k.Huge {
		return []int{100000, 1000000}
	}
	return []int{100000}
}

func linkCellName(files int) string {
	switch {
	case files >= 1000000 && files%1000000 == 0:
		return fmt.Sprintf("links/%dm", files/1000000)
	case files >= 1000 && files%1000 == 0:
		return fmt.Sprintf("links/%dk", files/1000)
	default:
		return fmt.Sprintf("links/%d", files)
	}
}

// treeDir is the directory makeTree puts file i in.
func treeDir(i, dirs int) string {
	i %= dirs
	if dirs > 100 {
		return fmt.Sprintf("d%03d/s%04d", i%100, i/100)
	}
	return fmt.Sprintf("d%03d", i)
}

// linkStatus is what the cell reads of `mirrorfs status --json`.
type linkStatus struct {
	LinkedNames int `json:"linked_names"`
	Reconcile   struct {
		Running bool   `json:"running"`
		Pending bool   `json:"pending"`
		Count   uint64 `json:"count"`
		Owed    []struct {
			Reason string `json:"reason"`
		} `json:"owed"`
	} `json:"reconcile"`
}

func (m *mirrorfs) linkStatus(t testing.TB) linkStatus {
	t.Helper()
	out, err := m.ctl(30*time.Second, "status", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var st linkStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return st
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// runLinks runs the links cell at every selected size.
func runLinks(t *testing.T, k Knobs, res *results, base string) {
	var sizes []int
	for _, n := range linkSizes(k) {
		if k.want(linkCellName(n)) {
			sizes = append(sizes, n)
		}
	}
	if len(sizes) == 0 {
		return
	}
	d := newDaemon(t)
	for _, n := range sizes {
		linkCell(t, k, res, d, base, n)
	}
}

// linkGroup is the names of one multi-linked file, the first one made by
// makeTree.
type linkGroup []string

func linkCell(t *testing.T, k Knobs, res *results, d *testkit.Daemon, base string, files int) {
	name := linkCellName(files)
	dirs := max(files/10, 4)
	sub := strings.ReplaceAll(name, "/", "-")
	src := filepath.Join(base, sub)
	module := filepath.Join(d.Dir, sub)

	// The tree, natively: files of 100 bytes in files/10 directories, and
	// 1 % of them with a second name in another directory (every tenth of
	// those also a third, in a third directory).
	start := time.Now()
	names, err := makeTree(src, files, dirs, 100)
	must(t, err)
	var groups []linkGroup
	linked := 0
	for i := 0; i < files; i += 100 {
		g := linkGroup{names[i], fmt.Sprintf("%s/l%07d", treeDir(i+dirs/2, dirs), i)}
		if i%1000 == 0 {
			g = append(g, fmt.Sprintf("%s/m%07d", treeDir(i+dirs/3, dirs), i))
		}
		for _, extra := range g[1:] {
			must(t, os.Link(filepath.Join(src, g[0]), filepath.Join(src, extra)))
		}
		groups = append(groups, g)
		linked += len(g)
	}
	build := time.Since(start)
	res.add(name+":build", pMirrorfs, build.Seconds())
	t.Logf("%s: %d files in %d directories, %d link groups (%d names), built natively in %v", name, files, dirs, len(groups), linked, build.Round(time.Second))
	reps := k.Sizes.LinkReps
	if need := 2 * reps; need > len(groups) || 50+100*reps > files {
		t.Fatalf("%s: %d repetitions need %d link groups and %d files; the tree has %d and %d", name, reps, need, 50+100*reps, len(groups), files)
	}
	mkdirModule(t, d, sub)
	if k.Smoke {
		mustRun(t, 30*time.Minute, "rsync", "-aH", "--delete", "--password-file="+d.PasswordFile, src+"/", d.URL()+"/"+sub+"/")
	}

	// Mount with cold caches and wait for the start-up walk to have found
	// every linked name, so that no measured change pays for it.
	quiesce(t)
	start = time.Now()
	m := startMirrorfs(t, d, sub, src, "--no-initial-sync")
	defer m.stop(t)
	var st linkStatus
	ok, msg := pollFast(10*time.Minute, func() (bool, string) {
		st = m.linkStatus(t)
		return st.LinkedNames >= linked, fmt.Sprintf("linked_names %d of %d", st.LinkedNames, linked)
	})
	if !ok {
		t.Fatalf("%s: the start-up walk did not find the link groups: %s\n%s", name, msg, m.p.output())
	}
	walk := time.Since(start)
	res.add(name+":walk", pMirrorfs, walk.Seconds())
	res.add(name+":names-before", pMirrorfs, float64(st.LinkedNames))
	res.add(name+":reconcile-before", pMirrorfs, float64(st.Reconcile.Count))
	t.Logf("%s: mounted, start-up walk found %d linked names in %v; reconcile.count %d", name, st.LinkedNames, walk.Round(time.Millisecond), st.Reconcile.Count)

	var present, absent []string
	newFile := func(rel string) {
		must(t, os.WriteFile(filepath.Join(src, rel), block()[:100], 0o644))
		present = append(present, rel)
	}
	// Warm-up, not measured: the first transfer of the mount.
	newFile(fmt.Sprintf("%s/warmup", treeDir(1, dirs)))
	m.syncWait(t, 10*time.Minute)

	load0 := loadAvg()
	for r := range reps {
		for j := range linkKinds {
			kind := linkKinds[(r+j)%len(linkKinds)]
			// Fresh targets every time: a directory and a name no other
			// change of the cell used.
			var op func()
			switch kind {
			case "file":
				rel := fmt.Sprintf("%s/n%02d", treeDir(7*r+3, dirs), r)
				op = func() { newFile(rel) }
			case "link":
				i := 50 + 100*r // a plain file: groups are at multiples of 100
				rel := fmt.Sprintf("%s/k%02d-%07d", treeDir(i+dirs/2, dirs), r, i)
				op = func() {
					must(t, os.Link(filepath.Join(src, names[i]), filepath.Join(src, rel)))
					present = append(present, names[i], rel)
				}
			case "rename":
				g := groups[2*r]
				from := g[r%2]
				// groups[2*r] is file 200*r's; dirs/4 on is none of its directories
				to := fmt.Sprintf("%s/r%02d-%s", treeDir(200*r+dirs/4+r, dirs), r, filepath.Base(from))
				op = func() {
					must(t, os.Rename(filepath.Join(src, from), filepath.Join(src, to)))
					present = append(present, to)
					present = append(present, g[1-r%2])
					absent = append(absent, from)
				}
			case "unlink":
				gone := groups[2*r+1][(r+1)%2]
				op = func() {
					// The other names need not travel: on a module that has
					// the group, deleting this name leaves them linked.
					must(t, os.Remove(filepath.Join(src, gone)))
					absent = append(absent, gone)
				}
			}
			unix.Sync()
			t0 := time.Now()
			op()
			m.syncWait(t, 10*time.Minute)
			took := time.Since(t0)
			res.add(name+":"+kind, pMirrorfs, took.Seconds())
			t.Logf("%s rep %d %s: %v", name, r+1, kind, took.Round(time.Microsecond))
		}
	}
	load1 := loadAvg()
	res.note(name+":load", fmt.Sprintf("%s before, %s after", load0, load1))

	// A whole-tree run would have been owed by now; give it a moment to
	// show before reading the count.
	time.Sleep(time.Second)
	st = m.linkStatus(t)
	res.add(name+":reconcile-after", pMirrorfs, float64(st.Reconcile.Count))
	res.add(name+":names-after", pMirrorfs, float64(st.LinkedNames))
	var owed []string
	for _, o := range st.Reconcile.Owed {
		owed = append(owed, o.Reason)
	}
	if st.Reconcile.Running {
		owed = append(owed, "running")
	}
	res.note(name+":owed", strings.Join(owed, ", "))
	t.Logf("%s: after the changes reconcile.count %d (owed: %v), linked_names %d; load %s", name, st.Reconcile.Count, owed, st.LinkedNames, res.noteOf(name+":load"))

	diffs := checkLinked(src, module, present, absent)
	if k.Smoke && len(diffs) == 0 {
		diffs = testkit.TreeDiff(src, module, testkit.CompareOptions{IgnoreDirMtime: true, IgnoreRootMtime: true, IgnoreRootMode: true})
	}
	if len(diffs) > 0 {
		res.fail(name, pMirrorfs, testkit.FormatDiffs(diffs))
		t.Errorf("%s: the module does not match the source: %s", name, testkit.FormatDiffs(firstN(diffs, 10)))
	} else {
		res.note(name+":check", "ok")
	}
}

// checkLinked compares what the module holds with the source: every
// regular file in the module is in the source with the same size and link
// count, and two module names share an inode exactly when their source
// names do. With equal link counts, every link group with a name in the
// module is there whole. present must be in the module, absent must not.
func checkLinked(src, module string, present, absent []string) []string {
	type ino struct{ dev, ino uint64 }
	var diffs []string
	m2s, s2m, names := map[ino]ino{}, map[ino]ino{}, map[ino]string{}
	err := filepath.WalkDir(module, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			diffs = append(diffs, err.Error())
			return nil
		}
		if !de.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(module, p)
		var ms, ss unix.Stat_t
		if err := unix.Lstat(p, &ms); err != nil {
			diffs = append(diffs, fmt.Sprintf("%s: %v", rel, err))
			return nil
		}
		if err := unix.Lstat(filepath.Join(src, rel), &ss); err != nil {
			diffs = append(diffs, fmt.Sprintf("%s: in the module, not in the source (%v)", rel, err))
			return nil
		}
		if ms.Size != ss.Size || ms.Nlink != ss.Nlink {
			diffs = append(diffs, fmt.Sprintf("%s: module size %d, %d links; source size %d, %d links", rel, ms.Size, ms.Nlink, ss.Size, ss.Nlink))
		}
		mi, si := ino{ms.Dev, ms.Ino}, ino{ss.Dev, ss.Ino}
		if x, ok := m2s[mi]; ok && x != si {
			diffs = append(diffs, fmt.Sprintf("%s and %s: one inode in the module, two in the source", rel, names[mi]))
		}
		if x, ok := s2m[si]; ok && x != mi {
			diffs = append(diffs, fmt.Sprintf("%s and %s: linked in the source, separate in the module", rel, names[x]))
		}
		m2s[mi], s2m[si], names[mi] = si, mi, rel
		return nil
	})
	if err != nil {
		diffs = append(diffs, err.Error())
	}
	for _, rel := range present {
		if _, err := os.Lstat(filepath.Join(module, rel)); err != nil {
			diffs = append(diffs, fmt.Sprintf("%s: missing in the module", rel))
		}
	}
	for _, rel := range absent {
		if _, err := os.Lstat(filepath.Join(module, rel)); err == nil {
			diffs = append(diffs, fmt.Sprintf("%s: removed from the source, still in the module", rel))
		}
	}
	return diffs
}

// linksMeasured lists the tree sizes this run has figures for, smallest first.
func linksMeasured(res *results, k Knobs) []int {
	sizes := []int{100000, 1000000}
	if k.Smoke {
		sizes = []int{k.Sizes.TreeFiles}
	}
	var out []int
	for _, n := range sizes {
		c := linkCellName(n)
		if res.lookup(c+":file", pMirrorfs) != nil || res.lookup(c, pMirrorfs) != nil {
			out = append(out, n)
		}
	}
	return out
}

const linksHeading = `## Hard links (issue "hardlinks")`

// linksSection is the report's section for the links cell.
func linksSection(res *results, k Knobs) string {
	var b strings.Builder
	b.WriteString(linksHeading + "\n\n")
	fmt.Fprintf(&b, "`BENCH_CELLS=links make bench` (add `BENCH_HUGE=1` for the 1,000,000-file tree). Only mirrorfs is measured: lsyncd's `default.rsync` (`archive = true`) and the script run rsync without `-H`, so they ship the names of a linked file as separate copies and have nothing equivalent. A tree of 100-byte files in one directory per ten files is made natively; 1 %% of its files get a second name in another directory (every tenth of those a third, in a third directory). mirrorfs then mounts over it with `--no-initial-sync`, so its start-up walk has to find the link groups (the walk column: mount until `status` shows every linked name). The module starts empty and receives only what the measured changes ship: the cell measures deltas, not a tree kept in sync from the start (the smoke run pushes its tiny tree first and compares the whole module). Each change is made through the mount and timed until `mirrorfs sync --wait` returns; %d repetitions per kind, the kinds rotating their order, each with a fresh target (a link to a file that had one name, a rename of one name of a group into a further directory, an unlink of one name of a group), page cache warm, `sync` before each. Medians [min–max]; ratios against the new plain file of the same tree and run. After the changes the module is checked: each file there has the source's size and link count, and names share an inode there exactly when they do in the source.\n\n", k.Sizes.LinkReps)
	measured := linksMeasured(res, k)
	if len(measured) == 0 {
		b.WriteString("Not measured in this run.\n\n")
		return b.String()
	}
	fmt.Fprintf(&b, "Measured %s, %d CPUs, kernel %s, on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), firstLine("uname", "-r"), scratchNote)
	b.WriteString("| tree |")
	for _, kind := range linkKinds {
		b.WriteString(" " + linkKindText[kind] + " |")
	}
	for _, kind := range linkKinds[1:] {
		b.WriteString(" " + kind + " ÷ file |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", 2*len(linkKinds)-1) + "\n")
	ms := func(v float64) string {
		if v < 0.1 {
			return fmt.Sprintf("%.1f ms", v*1000)
		}
		return fmt.Sprintf("%.0f ms", v*1000)
	}
	for _, n := range measured {
		c := linkCellName(n)
		fmt.Fprintf(&b, "| %s |", linkTreeText(n))
		for _, kind := range linkKinds {
			fmt.Fprintf(&b, " %s |", cellText(res.lookup(c+":"+kind, pMirrorfs), ms, ""))
		}
		for _, kind := range linkKinds[1:] {
			fmt.Fprintf(&b, " %s |", ratio(linkRatio(res, c, kind)))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n| tree | built natively | start-up walk | linked_names at start → end | reconcile.count before → after | whole-tree run | module check | load average (1, 5, 15 min) before → after the changes |\n|---|---:|---:|---:|---:|---|---|---|\n")
	for _, n := range measured {
		c := linkCellName(n)
		before, after := linkVal(res, c, "reconcile-before"), linkVal(res, c, "reconcile-after")
		whole := "none"
		switch {
		case math.IsNaN(after):
			whole = "–"
		case before != after:
			whole = fmt.Sprintf("**%.0f**", after-before)
		case res.noteOf(c+":owed") != "":
			whole = "**owed: " + res.noteOf(c+":owed") + "**"
		}
		check := res.noteOf(c + ":check")
		if s := res.lookup(c, pMirrorfs); s != nil && s.err != "" {
			check = "**differs**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s → %s | %s → %s | %s | %s | %s |\n", linkTreeText(n),
			secs(linkVal(res, c, "build")), secs(linkVal(res, c, "walk")),
			count(linkVal(res, c, "names-before")), count(linkVal(res, c, "names-after")),
			count(before), count(after), whole, check, res.noteOf(c+":load"))
	}
	b.WriteString("\nTargets of the issue:\n\n| target | measured | verdict |\n|---|---|---|\n")
	for _, n := range measured {
		c := linkCellName(n)
		for _, kind := range linkKinds[1:] {
			v := linkRatio(res, c, kind)
			fmt.Fprintf(&b, "| %s: %s ≤ 2× a new file | %s | %s |\n", c, linkKindText[kind], ratio(v), verdict(v <= 2, !math.IsNaN(v)))
		}
		before, after := linkVal(res, c, "reconcile-before"), linkVal(res, c, "reconcile-after")
		fmt.Fprintf(&b, "| %s: no whole-tree run (reconcile.count unchanged, none owed) | %s → %s | %s |\n", c, count(before), count(after),
			verdict(before == after && res.noteOf(c+":owed") == "", !math.IsNaN(after)))
	}
	b.WriteString("\n")
	return b.String()
}

// linkTreeText is "1,000,000 files (links/1m)".
func linkTreeText(files int) string {
	d := fmt.Sprint(files)
	for i := len(d) - 3; i > 0; i -= 3 {
		d = d[:i] + "," + d[i:]
	}
	return fmt.Sprintf("%s files (%s)", d, linkCellName(files))
}

func linkVal(res *results, cell, what string) float64 {
	return res.lookup(cell+":"+what, pMirrorfs).median()
}

func linkRatio(res *results, cell, kind string) float64 {
	return linkVal(res, cell, kind) / linkVal(res, cell, "file")
}

func count(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.0f", v)
}
