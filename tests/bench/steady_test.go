package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

const steadyDirs = 10

// steady writes SteadyRate files of 4 KiB per second for SteadyFor and
// measures, per file, the lag from its close(2) to its first appearance in
// the module (polled every 20 ms).
func steady(t *testing.T, k Knobs, res *results, d *testkit.Daemon, peer, work, sub string) {
	src := filepath.Join(work, "src")
	for i := range steadyDirs {
		must(t, os.MkdirAll(filepath.Join(src, fmt.Sprintf("s%02d", i)), 0o755))
	}
	pushTree(t, d, src, sub)
	module := filepath.Join(d.Dir, sub)
	r := startPeer(t, peer, d, sub, src, work)
	defer r.stop(t)
	quiesce(t)

	n := k.Sizes.SteadyRate * int(k.Sizes.SteadyFor/time.Second)
	closed := make([]time.Time, n)
	seen := make([]time.Time, n)
	var mu sync.Mutex
	done := make(chan struct{})
	cpu0 := r.cpu()
	start := time.Now()
	go func() {
		defer close(done)
		buf := block()[:4096]
		interval := time.Second / time.Duration(k.Sizes.SteadyRate)
		for i := range n {
			if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
				time.Sleep(wait)
			}
			if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("s%02d/f%06d", i%steadyDirs, i)), buf, 0o644); err != nil {
				t.Errorf("steady write %d: %v", i, err)
				return
			}
			mu.Lock()
			closed[i] = time.Now()
			mu.Unlock()
		}
	}()
	remaining := n
	var writerEnd time.Time
	for remaining > 0 {
		select {
		case <-done:
			if writerEnd.IsZero() {
				writerEnd = time.Now()
			}
			done = nil
		default:
		}
		if !writerEnd.IsZero() && time.Since(writerEnd) > k.Cap {
			break
		}
		now := time.Now()
		for i := range steadyDirs {
			ents, _ := os.ReadDir(filepath.Join(module, fmt.Sprintf("s%02d", i)))
			for _, e := range ents {
				name := e.Name()
				if !strings.HasPrefix(name, "f") {
					continue // rsync's temporary ".f000123.XXXXXX"
				}
				j, err := strconv.Atoi(name[1:])
				if err != nil || j >= n || !seen[j].IsZero() {
					continue
				}
				seen[j] = now
				remaining--
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if done != nil {
		<-done
	}
	cpu := r.cpu() - cpu0
	mu.Lock()
	defer mu.Unlock()
	var lags []float64
	for i := range n {
		if !seen[i].IsZero() && !closed[i].IsZero() {
			lags = append(lags, max(0, seen[i].Sub(closed[i]).Seconds()))
		}
	}
	missing := n - len(lags)
	slices.Sort(lags)
	pct := func(p float64) (float64, bool) {
		idx := int(p*float64(n)+0.5) - 1
		if idx < 0 {
			idx = 0
		}
		if idx >= len(lags) {
			return 0, false // that percentile had not arrived within the cap
		}
		return lags[idx], true
	}
	for _, p := range []struct {
		name string
		q    float64
	}{{"p50", 0.50}, {"p99", 0.99}, {"max", 1}} {
		if v, ok := pct(p.q); ok {
			res.add("mirror/steady:"+p.name, peer, v)
		} else {
			res.capped("mirror/steady:"+p.name, peer)
		}
	}
	res.add("mirror/steady:cpu", peer, cpu.Seconds())
	res.add("mirror/steady:missing", peer, float64(missing))
	res.note("steadyfiles", strconv.Itoa(n))
	t.Logf("mirror/steady %s: %d files, %d not arrived within the cap, lags p50/p99/max %v, cpu %v", peer, n, missing, lagSummary(lags), cpu)
}

func lagSummary(l []float64) string {
	if len(l) == 0 {
		return "none"
	}
	return fmt.Sprintf("%.3fs/%.3fs/%.3fs", l[len(l)/2], l[min(len(l)-1, len(l)*99/100)], l[len(l)-1])
}
