package fs

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// TestFastpath measures what applications pay for the mount: the
// metadata loops of the "fastpath" issue, natively, through libfuse's
// passthrough_ll (when FASTPATH_PLL names its binary) and through
// mirrorfs variants, each on a fresh directory of one scratch ext4,
// alternating the order per round. It prints medians and ratios and
// asserts nothing about time.
//
//	MIRRORFS_FASTPATH=1 FASTPATH_PLL=/tmp/pll/passthrough_ll \
//	FASTPATH_VARIANTS=native,pll,base,mirrorfs FASTPATH_RUNS=3 \
//	go test -count=1 -run TestFastpath -v ./fs
//
// FASTPATH_FIO=SIZE (e.g. 256M) adds fio's random 4 KiB writes; 0 skips them.
func TestFastpath(t *testing.T) {
	if os.Getenv("MIRRORFS_FASTPATH") == "" {
		t.Skip("set MIRRORFS_FASTPATH=1 to measure")
	}
	requireFuse(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root (scratch ext4, drop_caches)")
	}
	base := testkit.ScratchFS(t, testkit.ScratchFSOptions{Size: 8 << 30})
	names := strings.Split(envOr("FASTPATH_VARIANTS", "native,base,mirrorfs"), ",")
	runs, _ := strconv.Atoi(envOr("FASTPATH_RUNS", "3"))
	fioSize := envOr("FASTPATH_FIO", "0")
	if _, err := exec.LookPath("fio"); err != nil {
		fioSize = "0"
	}
	work := strings.Split(envOr("FASTPATH_WORK", "create,lstat-cold,append,rm-rf,fio"), ",")
	res := map[string]map[string][]float64{}
	for r := range runs {
		for i := range names {
			v := names[(i+r)%len(names)]
			dir := filepath.Join(base, fmt.Sprintf("%s-%d", v, r))
			must(t, os.MkdirAll(filepath.Join(dir, "b"), 0o755))
			must(t, os.MkdirAll(filepath.Join(dir, "m"), 0o755))
			mnt, unmount := fastpathMount(t, v, filepath.Join(dir, "b"), filepath.Join(dir, "m"))
			if res[v] == nil {
				res[v] = map[string][]float64{}
			}
			for w, x := range fastpathRun(t, mnt, work, fioSize) {
				res[v][w] = append(res[v][w], x)
			}
			unmount()
			exec.Command("rm", "-rf", dir).Run()
			dropCaches(t)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "medians of %d runs (time in s; fio in IOPS)\n%-12s", runs, "workload")
	for _, v := range names {
		fmt.Fprintf(&b, " %10s", v)
	}
	for _, v := range names[1:] {
		fmt.Fprintf(&b, " %14s", v+"/"+names[0])
	}
	b.WriteString("\n")
	for _, w := range work {
		if w == "fio" && fioSize == "0" {
			continue
		}
		fmt.Fprintf(&b, "%-12s", w)
		med := map[string]float64{}
		for _, v := range names {
			med[v] = median(res[v][w])
			fmt.Fprintf(&b, " %10.3f", med[v])
		}
		for _, v := range names[1:] {
			ratio := med[names[0]] / med[v] // speed relative to the first column
			if w == "fio" {
				ratio = med[v] / med[names[0]]
			}
			fmt.Fprintf(&b, " %13.2fx", ratio)
		}
		b.WriteString("\n")
	}
	t.Log("\n" + b.String())
}

// fastpathVariants are the mirrorfs configurations TestFastpath can
// compare; "base" turns every optimisation of the fastpath issue off.
var fastpathVariants = map[string]func(*Options){
	"mirrorfs":    func(*Options) {},
	"base":        func(o *Options) { o.slow = slowAll },
	"no-dircache": func(o *Options) { o.slow = slowDirCache },
}

func fastpathMount(t *testing.T, v, backing, mnt string) (string, func()) {
	switch v {
	case "native":
		return backing, func() {}
	case "pll":
		bin := os.Getenv("FASTPATH_PLL")
		if bin == "" {
			t.Fatal("variant pll needs FASTPATH_PLL=path/to/passthrough_ll")
		}
		cmd := exec.Command(bin, "-f", "-o", "source="+backing, mnt)
		must(t, cmd.Start())
		waitMounted(t, mnt)
		return mnt, func() {
			if err := unix.Unmount(mnt, 0); err != nil {
				t.Errorf("unmount %s: %v", mnt, err)
			}
			cmd.Wait()
		}
	}
	tweak, ok := fastpathVariants[v]
	if !ok {
		t.Fatalf("unknown variant %q", v)
	}
	b, err := os.Open(backing)
	must(t, err)
	defer b.Close()
	opts := Options{Backing: b, Mountpoint: mnt, Reporter: new(countReporter), WriteInterval: 2 * time.Second}
	tweak(&opts)
	m, err := New(opts)
	must(t, err)
	return mnt, func() {
		if err := m.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
	}
}

type countReporter atomic.Int64

func (c *countReporter) Report(change.Change) { (*atomic.Int64)(c).Add(1) }

func waitMounted(t *testing.T, mnt string) {
	var parent, st syscall.Stat_t
	must(t, syscall.Stat(filepath.Dir(mnt), &parent))
	for range 500 {
		if syscall.Stat(mnt, &st) == nil && st.Dev != parent.Dev {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s did not get mounted", mnt)
}

func fastpathRun(t *testing.T, mnt string, work []string, fioSize string) map[string]float64 {
	const dirs, perDir = 100, 100
	data := make([]byte, 4096)
	out := map[string]float64{}
	tree := filepath.Join(mnt, "tree")
	must(t, os.Mkdir(tree, 0o755))
	for d := range dirs {
		must(t, os.Mkdir(filepath.Join(tree, strconv.Itoa(d)), 0o755))
	}
	names := make([]string, 0, dirs*perDir)
	for d := range dirs {
		for f := range perDir {
			names = append(names, filepath.Join(tree, strconv.Itoa(d), "f"+strconv.Itoa(f)))
		}
	}
	dropCaches(t)
	timed := func(w string, fn func()) {
		if !slices.Contains(work, w) {
			return
		}
		start := time.Now()
		fn()
		out[w] = time.Since(start).Seconds()
		dropCaches(t)
	}
	timed("create", func() {
		for _, p := range names {
			fd, err := unix.Open(p, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
			must(t, err)
			_, err = unix.Write(fd, data)
			must(t, err)
			must(t, unix.Close(fd))
		}
	})
	timed("lstat-cold", func() {
		var st unix.Stat_t
		for _, p := range names {
			must(t, unix.Lstat(p, &st))
		}
	})
	app := filepath.Join(mnt, "append")
	must(t, os.WriteFile(app, nil, 0o644))
	timed("append", func() {
		for range 2000 {
			fd, err := unix.Open(app, unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
			must(t, err)
			_, err = unix.Write(fd, data[:100])
			must(t, err)
			must(t, unix.Close(fd))
		}
	})
	timed("rm-rf", func() {
		if b, err := exec.Command("rm", "-rf", tree).CombinedOutput(); err != nil {
			t.Fatalf("rm -rf: %v: %s", err, b)
		}
	})
	if fioSize != "0" && slices.Contains(work, "fio") {
		b, err := exec.Command("fio", "--name=r", "--filename="+filepath.Join(mnt, "fio"), "--rw=randwrite", "--bs=4k",
			"--size="+fioSize, "--ioengine=psync", "--end_fsync=1", "--output-format=json").Output()
		must(t, err)
		var j struct {
			Jobs []struct {
				Write struct {
					IOPS float64 `json:"iops"`
				} `json:"write"`
			} `json:"jobs"`
		}
		must(t, json.Unmarshal(b, &j))
		out["fio"] = j.Jobs[0].Write.IOPS
		dropCaches(t)
	}
	return out
}

func dropCaches(t *testing.T) {
	unix.Sync()
	must(t, os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0))
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	x = slices.Clone(x)
	sort.Float64s(x)
	if len(x)%2 == 1 {
		return x[len(x)/2]
	}
	return (x[len(x)/2-1] + x[len(x)/2]) / 2
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}
