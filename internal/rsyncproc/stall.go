package rsyncproc

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"
)

// An rsync can hang with both ends alive: each side waits for the other and
// only keep-alive messages cross the socket, so rsync's own --timeout never
// fires. progress watches the I/O counters of the process tree instead: a
// tree that reads and writes no more than keep-alive traffic for the stall
// window is killed.

// stallSlack is how much I/O still counts as "nothing": rsync sends a 4-byte
// keep-alive every timeout/2 and reads the peer's, so even 20 timeouts of
// pure keep-alives stay far below it.
const stallSlack = 1 << 10

// progress accumulates the I/O growth of a process tree between samples.
type progress struct {
	seen  map[int]uint64
	moved uint64
	last  time.Time // when the tree last moved more than stallSlack
}

func newProgress(now time.Time) *progress {
	return &progress{seen: make(map[int]uint64), last: now}
}

// sample adds the tree's growth and reports how long it has been still.
// Counters of exited processes are gone, so progress is the sum of each
// live process's growth.
func (p *progress) sample(pids []int, now time.Time) time.Duration {
	for _, pid := range pids {
		n := procIO(pid)
		if n > p.seen[pid] {
			p.moved += n - p.seen[pid]
		}
		p.seen[pid] = n
	}
	if p.moved > stallSlack {
		p.moved, p.last = 0, now
	}
	return now.Sub(p.last)
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
