package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// notesMarker separates the generated report from hand-written notes, which
// a new run keeps.
const notesMarker = "<!-- notes: everything below is kept when make bench rewrites this file -->"

func firstLine(argv ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "not installed"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			var kib int64
			fmt.Sscan(v, &kib)
			return fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
		}
	}
	return "?"
}

func header(k Knobs, res *results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- machine: %d CPUs (nproc), %s memory, kernel %s; every tree on %s (%s)\n",
		runtime.NumCPU(), memTotal(), firstLine("uname", "-r"), scratchNote, firstLine("findmnt", "-no", "FSTYPE,OPTIONS", "-T", os.TempDir()))
	fmt.Fprintf(&b, "- versions: %s; %s; lsyncd %s; %s; go-fuse %s\n",
		firstLine("go", "version"), firstLine("rsync", "--version"), strings.TrimPrefix(firstLine("lsyncd", "--version"), "Version: "),
		firstLine("fio", "--version"), firstLine("go", "list", "-m", "-f", "{{.Version}}", "github.com/hanwen/go-fuse/v2"))
	s := k.Sizes
	fmt.Fprintf(&b, "- runs per cell: %d (lsyncd defaults and the script: %d), medians quoted with [min–max]; cap per mirror cell %v\n", k.Runs, min(k.SlowRuns, k.Runs), k.Cap)
	fmt.Fprintf(&b, "- sizes: sequential file %s; fio file %s; %d small files of 4 KiB in %d directories; tree of %d files in %d directories; rename of %d files / %s; big file %s; %d appends; steady load %d files/s for %v; memory up to %d pending changes; untar of %s files\n",
		human(s.SeqBytes), human(s.FioBytes), s.SmallFiles, s.SmallDirs, s.TreeFiles, s.TreeDirs, s.RenameFiles, human(s.RenameBytes), human(s.BigFile), s.Appends, s.SteadyRate, s.SteadyFor, s.MemoryChanges, res.noteOf("tarfiles"))
	return b.String()
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.4g GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.4g MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d KiB", n>>10)
	}
}

// speed is how fast target runs relative to base (1.00× = same speed,
// higher is faster): base time / target time, or target IOPS / base IOPS.
func speed(res *results, metric, target, base string, iops bool) float64 {
	t, b := res.lookup(metric, target), res.lookup(metric, base)
	if t == nil || b == nil || len(t.vals) == 0 || len(b.vals) == 0 {
		return math.NaN()
	}
	if iops {
		return t.median() / b.median()
	}
	return b.median() / t.median()
}

func dataTable(res *results) string {
	var b strings.Builder
	cols := []string{tNative, tLoopback, tPassthroughLL, tMirrorfs, tCapture}
	ratios := []struct{ target, base, head string }{
		{tLoopback, tNative, "loopback vs native"},
		{tPassthroughLL, tNative, "passthrough_ll vs native"},
		{tMirrorfs, tNative, "mirrorfs vs native"},
		{tMirrorfs, tLoopback, "mirrorfs vs loopback"},
		{tMirrorfs, tPassthroughLL, "**mirrorfs vs passthrough_ll**"},
		{tCapture, tLoopback, "deferred vs loopback"},
	}
	b.WriteString("| workload |")
	for _, c := range cols {
		b.WriteString(" " + c + " |")
	}
	for _, r := range ratios {
		b.WriteString(" " + r.head + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(cols)+len(ratios)) + "\n")
	for _, c := range dataCells(cellInputs{}) {
		m := "data/" + c.name
		if res.lookup(m, tNative) == nil {
			continue
		}
		f := secs
		if c.iops {
			f = func(v float64) string { return fmt.Sprintf("%.0f IOPS", v) }
		}
		fmt.Fprintf(&b, "| %s: %s |", c.name, strings.ReplaceAll(c.desc, "|", "\\|"))
		for _, tg := range cols {
			fmt.Fprintf(&b, " %s |", cellText(res.lookup(m, tg), f, ""))
		}
		for _, r := range ratios {
			fmt.Fprintf(&b, " %s |", ratio(speed(res, m, r.target, r.base, c.iops)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// fastpathGoals are the data-path targets of issue "fastpath": mirrorfs,
// shipping as in production, against libfuse's C passthrough and native.
func fastpathGoals(res *results) []goal {
	var g []goal
	for _, c := range []string{"create", "stat-cold", "rm-rf", "open-append-close"} {
		v := speed(res, "data/"+c, tMirrorfs, tPassthroughLL, false)
		g = append(g, goal{"data/" + c + ": ≥ 1.0× passthrough_ll (C) speed, while shipping", ratio(v), verdict(v >= 1, !math.IsNaN(v))})
	}
	v := speed(res, "data/fio-randwrite", tMirrorfs, tNative, true)
	g = append(g, goal{"data/fio-randwrite: ≥ 0.9× native IOPS", ratio(v), verdict(v >= 0.9, !math.IsNaN(v))})
	tm, tn := res.lookup("data/pkg-install", tMirrorfs), res.lookup("data/pkg-install", tNative)
	if tm == nil || tn == nil || len(tm.vals) == 0 || len(tn.vals) == 0 {
		g = append(g, goal{"data/pkg-install: ≤ 1.1× native time", "–", verdict(false, false)})
	} else {
		r := tm.median() / tn.median()
		g = append(g, goal{"data/pkg-install: ≤ 1.1× native time", fmt.Sprintf("%s of native time (%s vs %s)", ratio(r), secs(tm.median()), secs(tn.median())), verdict(r <= 1.1, true)})
	}
	return g
}

// mirrorTable: one row per workload, each tool's median, then how many times
// longer each peer took than mirrorfs (the baseline of this table).
func mirrorTable(res *results, k Knobs, suffix string, f func(float64) string) string {
	var b strings.Builder
	b.WriteString("| workload |")
	for _, p := range peers {
		b.WriteString(" " + p + " |")
	}
	for _, p := range peers[1:] {
		b.WriteString(" " + p + " ÷ mirrorfs |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", 2*len(peers)-1) + "\n")
	rows := []struct{ metric, desc string }{}
	for _, c := range mirrorCells() {
		rows = append(rows, struct{ metric, desc string }{"mirror/" + c.name, c.name + ": " + c.desc})
	}
	rows = append(rows, struct{ metric, desc string }{"mirror/ready", "ready: start until changes are captured (cold caches)"},
		struct{ metric, desc string }{"mirror/ready:synced", "ready: start until the initial reconcile is done"})
	for _, r := range rows {
		m := r.metric + suffix
		if strings.HasPrefix(r.metric, "mirror/ready") && suffix != "" {
			continue
		}
		found := false
		for _, p := range peers {
			found = found || res.lookup(m, p) != nil || suffix == "" && res.lookup(r.metric, p) != nil
		}
		if !found {
			continue
		}
		fmt.Fprintf(&b, "| %s |", r.desc)
		for _, p := range peers {
			s := res.lookup(m, p)
			if s == nil && res.lookup(r.metric, p) != nil && res.lookup(r.metric, p).capped > 0 {
				s = res.lookup(r.metric, p)
			}
			fmt.Fprintf(&b, " %s |", cellText(s, f, fmt.Sprintf("> %v cap", k.Cap)))
		}
		for _, p := range peers[1:] {
			mf, ps := res.lookup(m, pMirrorfs), res.lookup(m, p)
			switch {
			case mf == nil || len(mf.vals) == 0 || ps == nil:
				b.WriteString(" – |")
			case len(ps.vals) == 0 && ps.capped > 0:
				fmt.Fprintf(&b, " > %s |", ratio(k.Cap.Seconds()/mf.median()))
			default:
				fmt.Fprintf(&b, " %s |", ratio(ps.median()/mf.median()))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func steadyTable(res *results, k Knobs) string {
	if res.lookup("mirror/steady:cpu", pMirrorfs) == nil && res.lookup("mirror/steady:cpu", pLsyncdTuned) == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("| tool | lag p50 | lag p99 | lag max | not arrived within cap | CPU seconds |\n|---|---:|---:|---:|---:|---:|\n")
	capText := fmt.Sprintf("> %v cap", k.Cap)
	for _, p := range peers {
		if res.lookup("mirror/steady:cpu", p) == nil {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", p,
			cellText(res.lookup("mirror/steady:p50", p), secs, capText), cellText(res.lookup("mirror/steady:p99", p), secs, capText),
			cellText(res.lookup("mirror/steady:max", p), secs, capText),
			cellText(res.lookup("mirror/steady:missing", p), func(v float64) string { return fmt.Sprintf("%.0f", v) }, ""),
			cellText(res.lookup("mirror/steady:cpu", p), secs, ""))
	}
	return b.String()
}

// target is one goal from issue 6 and how this run measured against it.
type goal struct {
	text, figure string
	met          string // "met", "not met", "not measured"
}

func verdict(ok bool, measured bool) string {
	switch {
	case !measured:
		return "not measured"
	case ok:
		return "met"
	default:
		return "**not met**"
	}
}

func goals(res *results, k Knobs) []goal {
	var g []goal
	med := func(m, t string) (float64, bool) {
		s := res.lookup(m, t)
		if s == nil || len(s.vals) == 0 {
			return math.NaN(), false
		}
		return s.median(), true
	}
	for _, c := range []string{"seqwrite", "seqread-cold", "seqread-warm"} {
		v := speed(res, "data/"+c, tMirrorfs, tNative, false)
		g = append(g, goal{"data/" + c + ": ≥ 0.95× native speed", ratio(v), verdict(v >= 0.95, !math.IsNaN(v))})
	}
	for _, c := range []string{"create", "stat-cold", "stat-warm", "rm-rf"} {
		v := speed(res, "data/"+c, tMirrorfs, tLoopback, false)
		g = append(g, goal{"data/" + c + ": ≥ 0.9× plain go-fuse loopback speed", ratio(v), verdict(v >= 0.9, !math.IsNaN(v))})
		v = speed(res, "data/"+c, tCapture, tLoopback, false)
		g = append(g, goal{"data/" + c + ": capture and journal alone (shipping deferred) ≥ 0.9× loopback", ratio(v), verdict(v >= 0.9, !math.IsNaN(v))})
	}
	for _, c := range mirrorCells() {
		m := "mirror/" + c.name
		mf, ok := med(m, pMirrorfs)
		tuned, okT := med(m, pLsyncdTuned)
		g = append(g, goal{m + ": end to end faster than lsyncd delay=0",
			fmt.Sprintf("%s vs %s", secs(mf), secs(tuned)), verdict(mf < tuned, ok && okT)})
		if mt, okM := med(m, pMirrorfsTuned); okM {
			g = append(g, goal{m + ": (tuned against tuned) mirrorfs delay=0 faster than lsyncd delay=0",
				fmt.Sprintf("%s vs %s", secs(mt), secs(tuned)), verdict(mt < tuned, okT)})
		}
		for _, p := range []string{pLsyncdDefault, pScript} {
			s := res.lookup(m, p)
			if s == nil || !ok {
				g = append(g, goal{m + ": ≥ 10× faster than " + p, "–", verdict(false, false)})
				continue
			}
			if len(s.vals) == 0 && s.capped > 0 {
				g = append(g, goal{m + ": ≥ 10× faster than " + p, fmt.Sprintf("> %s (peer hit the %v cap)", ratio(k.Cap.Seconds()/mf), k.Cap), verdict(k.Cap.Seconds()/mf >= 10, true)})
				continue
			}
			v := s.median() / mf
			g = append(g, goal{m + ": ≥ 10× faster than " + p, ratio(v), verdict(v >= 10, true)})
		}
	}
	if v, ok := med("mirror/onechange", pMirrorfs); true {
		g = append(g, goal{fmt.Sprintf("one change in a tree of %d files arrives in < 1 s", k.Sizes.TreeFiles), secs(v), verdict(v < 1, ok)})
	}
	recv, okR := med("mirror/rename:received", pMirrorfs)
	g = append(g, goal{fmt.Sprintf("rename of a %s directory: daemon receives < 1 %%", human(k.Sizes.RenameBytes)),
		fmt.Sprintf("%s received (%.1f %%)", human(int64(recv)), 100*recv/float64(k.Sizes.RenameBytes)), verdict(recv < 0.01*float64(k.Sizes.RenameBytes), okR)})
	rd, okRd := med("mirror/ready", pMirrorfs)
	g = append(g, goal{fmt.Sprintf("mount ready on a %d-file tree in < 1 s", k.Sizes.TreeFiles), secs(rd), verdict(rd < 1, okRd)})
	p99 := res.lookup("mirror/steady:p99", pMirrorfs)
	switch {
	case p99 == nil:
		g = append(g, goal{"steady load: p99 lag < 1 s", "–", verdict(false, false)})
	case len(p99.vals) == 0:
		g = append(g, goal{"steady load: p99 lag < 1 s", "> cap", verdict(false, true)})
	default:
		g = append(g, goal{"steady load: p99 lag < 1 s", secs(p99.median()), verdict(p99.median() < 1, true)})
	}
	n, okN := med("memory:changes", tMirrorfs)
	peak, _ := med("memory:rss", tMirrorfs)
	after, okA := med("memory:after-forget", tMirrorfs)
	g = append(g, goal{fmt.Sprintf("memory with %.0f pending changes: stated and bounded (< 300 MiB once the kernel has forgotten its inodes)", n),
		fmt.Sprintf("%.0f MiB while the kernel caches every inode, %.0f MiB after", peak/1024, after/1024), verdict(after < 300*1024, okN && okA)})
	return g
}

// Report sections, each a "## " heading and what follows up to the next.
const (
	settingHeading = "## Setting"
	dataHeading    = "## Data path"
	mirrorHeading  = "## Mirror path"
	memoryHeading  = "## Memory with pending changes"
	targetsHeading = "## Targets (issue 6)"
	fastHeading    = "## Targets (fastpath)"
)

// measuredAny reports whether res holds a metric starting with prefix.
func measuredAny(res *results, prefix string) bool {
	res.mu.Lock()
	defer res.mu.Unlock()
	for m := range res.m {
		if strings.HasPrefix(m, prefix) {
			return true
		}
	}
	return false
}

// partial reports whether BENCH_CELLS selected some cells only.
func (k Knobs) partial() bool { return k.Cells.String() != "." }

// oldSections splits the generated part of an earlier report into its
// "## " sections, keyed by heading line.
func oldSections(generated string) map[string]string {
	out := map[string]string{}
	parts := strings.Split("\n"+generated, "\n## ")
	for _, p := range parts[1:] {
		heading, _, _ := strings.Cut(p, "\n")
		out["## "+heading] = "## " + strings.TrimRight(p, "\n") + "\n\n"
	}
	return out
}

// writeReport writes the report to path and returns it. A full run
// rewrites every section. A run that BENCH_CELLS limited to some cells
// rewrites only the sections it has figures for and keeps the others as
// the previous report had them, so measuring one cell does not wipe the
// rest (a section it does rewrite holds only what this run measured).
// Hand-written notes below notesMarker are kept either way.
func writeReport(path string, k Knobs, res *results, mem []memPoint) (string, error) {
	var old, oldNotes string
	if b, err := os.ReadFile(path); err == nil {
		var ok bool
		if old, oldNotes, ok = strings.Cut(string(b), notesMarker+"\n"); !ok {
			old, oldNotes = "", ""
		}
	}
	kept := map[string]string{}
	if k.partial() {
		kept = oldSections(old)
	}
	issue6 := measuredAny(res, "data/") || measuredAny(res, "mirror/") || len(mem) > 0
	type section struct {
		heading  string
		measured bool
		text     func() string
	}
	sections := []section{
		{settingHeading, issue6, func() string {
			s := settingHeading + "\n\n" + header(k, res)
			if k.partial() {
				s += fmt.Sprintf("- cells: BENCH_CELLS=%q; sections without figures from this run are kept from the previous report\n", k.Cells.String())
			}
			return s + "\n"
		}},
		{dataHeading, measuredAny(res, "data/"), func() string {
			return dataHeading + "\n\nmirrorfs mounted over its directory (shipping to a loopback rsync daemon as in production), the same again with shipping held back until the cell is over (`--delay 1h --max-delay 1h`: capture and journal alone, without rsync competing for the CPU while the workload runs), the same kind of directory natively, go-fuse's own `fs.NewLoopbackRoot` with mirrorfs's mount options (tests/bench/cmd/loopback), and libfuse's C example `passthrough_ll` (built at the start of the run from Debian's libfuse3-dev with `cc -O2`, run as `passthrough_ll -f -o source=SRC MNT`: its defaults, cache=auto with 1 s timeouts, xattrs off so the kernel stops asking for security.capability after the first ENOSYS; libfuse 3.14 has no kernel read/write passthrough, so its data goes through the daemon, where go-fuse's loopback and mirrorfs get passthrough as root). Times per run; ratio columns are speed relative to the baseline (1.00× = as fast, below 1 = slower). Load average (1, 5, 15 min) when the data-path cells started → ended: " +
				res.noteOf("data-load-start") + " → " + res.noteOf("data-load-end") + " (the cells themselves keep one to two threads busy).\n\n" +
				dataTable(res) + "\n"
		}},
		{mirrorHeading, measuredAny(res, "mirror/"), func() string {
			var b strings.Builder
			b.WriteString(mirrorHeading + "\n\nEach tool ships to a module of the same loopback rsync daemon (`rsync://rsyncuser@127.0.0.1:PORT/backup/…`, the article's auth set-up). Time from the start of the workload (writes included) until the module's tree equals the source (a size check polled every 10 ms, confirmed by a full tree comparison). mirrorfs: defaults (delay 200 ms, max-delay 2 s). lsyncd: `default.rsync` with `archive = true`, delay default (15 s) or 0. Script: the article's inotifywait + `rsync -az --delete` loop. The ÷ mirrorfs columns say how many times longer a peer took.\n\n")
			b.WriteString("### End-to-end time\n\n" + mirrorTable(res, k, "", secs) + "\n")
			b.WriteString("### CPU seconds of each tool's process tree (tool + the rsyncs it ran, client side)\n\n" + mirrorTable(res, k, ":cpu", secs) + "\n")
			b.WriteString("### Time the workload's own writes took (through the mount for mirrorfs)\n\n" + mirrorTable(res, k, ":writes", secs) + "\n")
			b.WriteString("### Bytes the daemon received for the directory rename\n\n" + mirrorTable(res, k, ":received", func(v float64) string { return human(int64(v)) }) + "\n")
			if s := steadyTable(res, k); s != "" {
				fmt.Fprintf(&b, "### Steady load: %d files of 4 KiB per second for %v (%s files), lag from close(2) to arrival in the module (module polled every 20 ms), one run per tool\n\n%s\n", k.Sizes.SteadyRate, k.Sizes.SteadyFor, res.noteOf("steadyfiles"), s)
			}
			return b.String()
		}},
		{memoryHeading, len(mem) > 0, func() string {
			return memoryHeading + "\n\nmirrorfs mounted, destination daemon stopped (nothing ships), empty files created through the mount in 100 directories by two writers; RSS from /proc/PID/status. \"status pending\" is the queue's entry count: past max-pending (250,000) directories fold into recursive entries (mirror/overflow.go). The FUSE layer also keeps one node per inode the kernel caches; the last row is measured after `echo 2 > /proc/sys/vm/drop_caches` made the kernel forget them, as memory pressure would.\n\n" + memCurve(mem) + "\n"
		}},
		{linksHeading, len(linksMeasured(res, k)) > 0, func() string { return linksSection(res, k) }},
		{fastHeading, measuredAny(res, "data/"), func() string {
			var b strings.Builder
			b.WriteString(fastHeading + "\n\nmirrorfs as in production (shipping to the loopback daemon while the workload runs). Ratios are speeds: baseline time ÷ mirrorfs time (for IOPS mirrorfs ÷ baseline), so ≥ 1.00× means at least as fast; the package install is quoted as a time ratio, mirrorfs ÷ native.\n\n| target | measured | verdict |\n|---|---|---|\n")
			for _, g := range fastpathGoals(res) {
				fmt.Fprintf(&b, "| %s | %s | %s |\n", g.text, g.figure, g.met)
			}
			return b.String() + "\n"
		}},
		{targetsHeading, issue6, func() string {
			var b strings.Builder
			b.WriteString(targetsHeading + "\n\n")
			if k.partial() {
				b.WriteString("Only the targets this run measured (BENCH_CELLS); a full `make bench` lists them all.\n\n")
			}
			b.WriteString("| target | measured | verdict |\n|---|---|---|\n")
			for _, g := range goals(res, k) {
				if k.partial() && g.met == "not measured" {
					continue
				}
				fmt.Fprintf(&b, "| %s | %s | %s |\n", g.text, g.figure, g.met)
			}
			return b.String() + "\n"
		}},
	}
	var b strings.Builder
	b.WriteString("# mirrorfs benchmarks\n\nGenerated by `make bench` (tests/bench). Every figure is measured in the same run as its baseline; ratios are taken between medians.\n\n")
	b.WriteString("## Reproduce\n\n```sh\nmake bench                               # full run, rewrites this file (about an hour)\nBENCH_RUNS=5 make bench                  # more runs per cell\nBENCH_CELLS='data/|mirror/burst' make bench  # a regexp over cell names (data/…, mirror/…, memory, links/…); rewrites only the sections it measures\nBENCH_CAP=120s BENCH_SLOW_RUNS=3 make bench  # longer cap, more runs for the slow peers\nBENCH_HUGE=1 make bench                  # the big tree gets 1,000,000 files, and the links cell adds a 1,000,000-file tree (slow: building and pushing it takes many minutes)\nBENCH_HUGE=1 BENCH_CELLS=links make bench   # the hard-link cell alone, at 100,000 and 1,000,000 files\nBENCH_SCRATCH=0 make bench               # on the host's temp directory instead of a fresh ext4 on a loop device\ngo test -count=1 -run TestSmoke ./tests/bench   # tiny sizes, checks only that every workload completes and converges\n```\n\nNeeds root (FUSE mounts, dropping caches), rsync, fuse3, inotify-tools; lsyncd, fio, and a C compiler, pkg-config and libfuse3-dev for the passthrough_ll reference too (scripts/deps.sh installs them all). Every tree (sources, modules, state) lives on a fresh journaled ext4 made for the run on a loop device, so that the host's filesystem does not set the pace (an ext4 without a journal, as on this machine's root, spends most of a file creation in `recently_deleted()`). Between cells the harness runs `sync` and `echo 3 > /proc/sys/vm/drop_caches`; mirrorfs's shipping of the previous cell is awaited (`mirrorfs sync --wait`) before each data-path cell.\n\n")
	for _, s := range sections {
		switch text, ok := kept[s.heading]; {
		case !k.partial() && (s.heading != memoryHeading || s.measured) && (s.heading != linksHeading || s.measured || k.want("links/")):
			b.WriteString(s.text())
		case s.measured:
			b.WriteString(s.text())
		case ok:
			b.WriteString(text)
		}
	}
	b.WriteString(notesMarker + "\n" + oldNotes)
	return b.String(), os.WriteFile(path, []byte(b.String()), 0o644)
}
