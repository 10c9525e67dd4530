package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// memPoint is one sample of the RSS curve.
type memPoint struct {
	changes int
	rssKiB  int64
	pending int
	elapsed time.Duration
	forgot  bool // after the kernel dropped its inode cache
}

// memory measures the resident size of mirrorfs while changes pile up with
// the destination stopped: nothing ships, every create stays queued.
func memory(t *testing.T, k Knobs, res *results, base string) []memPoint {
	d := newDaemon(t)
	mp := filepath.Join(base, "mem")
	mkdirModule(t, d, "mem")
	m := startMirrorfs(t, d, "mem", mp, "--no-initial-sync", "--flush-timeout", "1s")
	const dirs = 100
	for i := range dirs {
		must(t, os.Mkdir(filepath.Join(mp, fmt.Sprintf("d%02d", i)), 0o755))
	}
	m.syncWait(t, time.Minute)
	d.Stop()

	pending := func() int {
		out, err := m.ctl(30*time.Second, "status", "--json")
		if err != nil {
			return -1
		}
		var st struct {
			Pending  int `json:"pending"`
			InFlight int `json:"in_flight"`
		}
		if json.Unmarshal([]byte(out), &st) != nil {
			return -1
		}
		return st.Pending + st.InFlight
	}
	points := []memPoint{{changes: 0, rssKiB: rssKiB(m.p.pid()), pending: pending()}}
	step := max(k.Sizes.MemoryChanges/10, 1)
	start := time.Now()
	created := 0
	for created < k.Sizes.MemoryChanges && time.Since(start) < k.Sizes.MemoryBudget {
		// Two writers: the machine has two cores and FUSE serves in parallel.
		var wg sync.WaitGroup
		var errOnce sync.Once
		var firstErr error
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := created + w; i < created+step; i += 2 {
					f, err := os.OpenFile(filepath.Join(mp, fmt.Sprintf("d%02d/f%07d", i%dirs, i)), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
					if err == nil {
						err = f.Close()
					}
					if err != nil {
						errOnce.Do(func() { firstErr = err })
						return
					}
				}
			}()
		}
		wg.Wait()
		must(t, firstErr)
		created += step
		p := memPoint{changes: created, rssKiB: rssKiB(m.p.pid()), pending: pending(), elapsed: time.Since(start)}
		points = append(points, p)
		t.Logf("memory: %d changes pending (status says %d), RSS %d MiB, %v", p.changes, p.pending, p.rssKiB>>10, p.elapsed.Round(time.Second))
	}
	last := points[len(points)-1]
	// The FUSE layer keeps a node for every inode the kernel caches; the
	// kernel lets go of them (FORGET) under memory pressure. Dropping its
	// dentry and inode caches shows what is left once it has.
	must(t, os.WriteFile("/proc/sys/vm/drop_caches", []byte("2"), 0))
	time.Sleep(map[bool]time.Duration{true: 2 * time.Second, false: 10 * time.Second}[k.Smoke])
	after := memPoint{last.changes, rssKiB(m.p.pid()), pending(), time.Since(start), true}
	t.Logf("memory: after the kernel dropped its inode cache: RSS %d MiB, %d pending", after.rssKiB>>10, after.pending)
	res.add("memory:after-forget", tMirrorfs, float64(after.rssKiB))
	res.add("memory:changes", tMirrorfs, float64(last.changes))
	res.add("memory:rss", tMirrorfs, float64(last.rssKiB))
	res.add("memory:base", tMirrorfs, float64(points[0].rssKiB))
	// Unmount gives up after the 1 s flush timeout (the daemon is down).
	m.stop(t)
	return append(points, after)
}

func memCurve(points []memPoint) string {
	var b strings.Builder
	b.WriteString("| pending changes | RSS (MiB) | per change (bytes) | status pending | time to generate |\n|---:|---:|---:|---:|---:|\n")
	for _, p := range points {
		per := "–"
		if p.changes > 0 {
			per = fmt.Sprintf("%.0f", float64(p.rssKiB-points[0].rssKiB)*1024/float64(p.changes))
		}
		changes := fmt.Sprint(p.changes)
		if p.forgot {
			changes += ", then the kernel's inode cache dropped (FORGET)"
		}
		fmt.Fprintf(&b, "| %s | %.1f | %s | %d | %v |\n", changes, float64(p.rssKiB)/1024, per, p.pending, p.elapsed.Round(time.Second))
	}
	return b.String()
}
