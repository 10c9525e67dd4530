package mirror

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"time"
)

// An rsync can hang with both ends alive: each side waits for the other and
// only keep-alive messages cross the socket, so rsync's own --timeout never
// fires (see noIncRecursive for the case found so far). The watchdog watches
// the I/O counters of the rsync process tree instead: a run that reads and
// writes no more than keep-alive traffic for the stall period is killed and
// its batch retried.

// stallSlack is how much I/O still counts as "nothing": rsync sends a 4-byte
// keep-alive every timeout/2 and reads the peer's, so even 20 timeouts of
// pure keep-alives stay far below it.
const stallSlack = 1 << 10

// stallAfter is how long a run may make no progress before it is killed:
// Config.Stall, or 4 × --timeout (20 × for a whole-tree sync, whose far side
// may compare a large unchanged tree in silence for a long time).
func (c *Config) stallAfter(mode argMode) time.Duration {
	if c.Stall > 0 {
		if mode == modeFull {
			return 5 * c.Stall
		}
		return c.Stall
	}
	if mode == modeFull {
		return 20 * c.Timeout
	}
	return 4 * c.Timeout
}

// watchStall polls the I/O of the process tree rooted at pid until ctx ends
// and reports true when it saw no progress for after.
func watchStall(ctx context.Context, pid int, after time.Duration) bool {
	tick := min(max(after/8, 50*time.Millisecond), 5*time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	seen := make(map[int]uint64)
	var moved uint64
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return false
		case now := <-t.C:
			// Counters of exited processes are gone, so progress is the sum
			// of each live process's growth.
			for p, n := range treeIO(pid) {
				if n > seen[p] {
					moved += n - seen[p]
				}
				seen[p] = n
			}
			if moved > stallSlack {
				moved, last = 0, now
			} else if now.Sub(last) >= after {
				return true
			}
		}
	}
}

// treeIO returns rchar+wchar of pid and its descendants.
func treeIO(pid int) map[int]uint64 {
	out := make(map[int]uint64)
	todo := []int{pid}
	for len(todo) > 0 && len(out) < 64 {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if _, dup := out[p]; dup {
			continue
		}
		out[p] = procIO(p)
		kids, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/task/" + strconv.Itoa(p) + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(kids)) {
			if k, err := strconv.Atoi(f); err == nil {
				todo = append(todo, k)
			}
		}
	}
	return out
}

// procIO is the bytes a process read and wrote through system calls
// (sockets, pipes and files alike); 0 once it is gone.
func procIO(pid int) uint64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return 0
	}
	var n uint64
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if ok && (k == "rchar" || k == "wchar") {
			x, _ := strconv.ParseUint(v, 10, 64)
			n += x
		}
	}
	return n
}
