package mirror

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// BenchmarkMillionPending measures the memory of one million distinct
// pending paths (the destination down during a large copy), with the
// journal on. Run: go test -run=^$ -bench=MillionPending -benchtime=1x ./mirror
func BenchmarkMillionPending(b *testing.B) {
	const n = 1_000_000
	for range b.N {
		f, err := os.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		dead := Destination{Kind: DestDaemon, Host: "127.0.0.1", Port: 9, Module: "m"}
		// No folding (overflow.go): this measures what each entry costs.
		e, err := New(testConfig(func(c *Config) { c.Source, c.Dest, c.StateDir, c.MaxPending = f, dead, b.TempDir(), n }))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		debug.FreeOSMemory()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := range n {
			// 1,000 directories of 1,000 files, 40-byte paths like a copy's.
			e.Add(change.Change{Op: change.OpCreate, Path: "data/dir" + strconv.Itoa(i/1000) + "/file-" + strconv.Itoa(i) + ".dat"})
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if p := e.Status().Pending; p != n {
			b.Fatalf("pending %d, want %d", p, n)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB")
		b.ReportMetric(float64(rssBytes())/(1<<20), "rss-MB")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/path")
		e.Close()
		f.Close()
	}
}

// rssBytes is the process's resident set size from /proc/self/status.
func rssBytes() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
