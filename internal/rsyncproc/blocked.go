package rsyncproc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// An rsync sender opens each listed file after it built the file list; if
// the file was replaced by a FIFO in between, open(2) waits for a writer
// forever, and rsync's --timeout does not cover it (the process is in the
// kernel, not in its I/O loop). blockWatch spots such a process in the tree
// from /proc/PID/syscall and /proc/PID/wchan and reads the path it is
// opening from /proc/PID/mem. (A FIFO that has a writer opens at once, and
// rsync then sends it as empty without reading it: its fstat says size 0.
// So a stuck read of a FIFO does not happen; a stuck open does.)

// Blocked describes a process that was killed while stuck on a path.
type Blocked struct {
	PID     int
	Syscall string // "openat", "open", "stat", ...
	Path    string // the path argument as the process passed it; "" if unreadable
	// Dir is what a relative Path is relative to, as the process sees it:
	// its working directory, or the directory fd an *at call was given.
	// rsync 3.4+ opens "name" relative to an fd of the file's directory.
	Dir   string
	Wchan string        // kernel wait channel, e.g. "wait_for_partner" (a FIFO open)
	For   time.Duration // how long it was seen stuck
}

type pathCall struct {
	name string
	arg  int // index of the path argument
}

// openGrace is how long a process may sit in the same path call without
// being woken even once before it counts as stuck; a local open or stat
// takes microseconds, a slow disk wakes the task with each I/O it waits for.
const openGrace = 2 * time.Second

// stuckWchans are wait channels that only end when another process acts:
// a FIFO open waiting for its other end. They count as stuck at once.
var stuckWchans = map[string]bool{"wait_for_partner": true}

type sighting struct {
	key   string // syscall line and context-switch counts
	since time.Time
}

type blockWatch struct {
	grace time.Duration
	seen  map[int]sighting
}

func newBlockWatch(grace time.Duration) *blockWatch {
	return &blockWatch{grace: grace, seen: make(map[int]sighting)}
}

// check returns non-nil when pid is stuck in a path call.
func (w *blockWatch) check(pid int, now time.Time) *Blocked {
	line := procLine(pid, "syscall")
	nr, args := parseSyscall(line)
	call, known := pathCalls[nr]
	wchan := procLine(pid, "wchan")
	fifo := stuckWchans[wchan]
	if !known && !fifo {
		delete(w.seen, pid)
		return nil
	}
	key := line + "|" + switches(pid)
	s, ok := w.seen[pid]
	if !ok || s.key != key {
		s = sighting{key, now}
		w.seen[pid] = s
	}
	if !fifo && now.Sub(s.since) < w.grace {
		return nil
	}
	b := &Blocked{PID: pid, Syscall: call.name, Wchan: wchan, For: now.Sub(s.since)}
	if !known {
		b.Syscall = "open"
		return b
	}
	if p, err := readCString(pid, args[call.arg]); err == nil && procLine(pid, "syscall") == line {
		b.Path = p
		if !filepath.IsAbs(p) {
			b.Dir = baseDir(pid, call, args)
		}
	}
	return b
}

// atFDCWD is AT_FDCWD as the kernel reads an int argument.
const atFDCWD = -100

// baseDir resolves the directory a relative path argument starts from.
func baseDir(pid int, call pathCall, args []uint64) string {
	link := "cwd"
	if call.arg == 1 && int32(uint32(args[0])) != atFDCWD {
		link = "fd/" + strconv.Itoa(int(int32(uint32(args[0]))))
	}
	d, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/" + link)
	return d
}

// Abs is the path the process was stuck on, joined to Dir when relative.
func (b *Blocked) Abs() string {
	if b.Path == "" || filepath.IsAbs(b.Path) || b.Dir == "" {
		return b.Path
	}
	return filepath.Join(b.Dir, b.Path)
}

// parseSyscall splits /proc/PID/syscall ("257 0xffffff9c 0x55d0... ...");
// nr is -1 when the process is running or in no system call.
func parseSyscall(line string) (nr int, args []uint64) {
	f := strings.Fields(line)
	if len(f) < 7 {
		return -1, nil
	}
	nr, err := strconv.Atoi(f[0])
	if err != nil {
		return -1, nil
	}
	for _, a := range f[1:7] {
		v, err := strconv.ParseUint(strings.TrimPrefix(a, "0x"), 16, 64)
		if err != nil {
			return -1, nil
		}
		args = append(args, v)
	}
	return nr, args
}

// switches is the process's voluntary and involuntary context switches: a
// task that is woken at all (disk I/O, a retransmit) changes them.
func switches(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasSuffix(strings.SplitN(l, ":", 2)[0], "_ctxt_switches") {
			out = append(out, strings.TrimSpace(strings.SplitN(l, ":", 2)[1]))
		}
	}
	return strings.Join(out, "/")
}

// procLine is /proc/PID/NAME without its trailing newline; "" if unreadable.
func procLine(pid int, name string) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + name)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
