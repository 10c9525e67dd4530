package doctor

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Holder is a process that holds something under a directory through a
// path that does not go through the mount: a working directory, a root,
// open files or mapped files opened before the mount. Its writes bypass
// mirrorfs until it reopens them.
type Holder struct {
	PID  int      `json:"pid"`
	Comm string   `json:"comm"`
	Hold []string `json:"holds"` // e.g. "cwd", "fd 5 → /data/x.log", "mmap /data/lib.so"
}

func (h Holder) String() string {
	return fmt.Sprintf("pid %d (%s): %s", h.PID, h.Comm, strings.Join(h.Hold, ", "))
}

// BypassAdvice is what to do about a Holder.
const BypassAdvice = "its writes bypass mirrorfs until it reopens the files: restart it, or rely on the initial sync / `sync --full` / reconcile-interval"

// Bounds: a scan must stay cheap on a busy machine.
const (
	bypassBudget  = 2 * time.Second
	maxFDs        = 4096 // per process
	maxHoldsShown = 5    // per process; the rest is counted
)

// Bypassers lists processes that hold something under dir whose device
// keep accepts (keep nil: any), except the processes skip and their
// children (a mirrorfs and its rsyncs). Before a mount, keep is
// nil; on a running in-place mount, keep rejects the mount's own device, so
// only what was opened beneath it remains. The scan is best effort and
// bounded in time; unreadable processes are skipped.
func Bypassers(dir string, keep func(dev uint64) bool, skip ...int) []Holder {
	dir = filepath.Clean(dir)
	under := func(p string) bool {
		p = strings.TrimSuffix(p, " (deleted)")
		return p == dir || strings.HasPrefix(p, dir+"/") || dir == "/"
	}
	accept := func(statPath string) bool {
		if keep == nil {
			return true
		}
		var st unix.Stat_t
		if unix.Stat(statPath, &st) != nil {
			return false
		}
		return keep(st.Dev)
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	deadline := time.Now().Add(bypassBudget)
	var out []Holder
	for _, pe := range procs {
		pid, err := strconv.Atoi(pe.Name())
		if err != nil || slices.Contains(skip, pid) || slices.Contains(skip, parent(pid)) {
			continue
		}
		if time.Now().After(deadline) {
			break
		}
		base := filepath.Join("/proc", pe.Name())
		var holds []string
		for _, l := range []string{"cwd", "root"} {
			if t, err := os.Readlink(filepath.Join(base, l)); err == nil && under(t) && !(l == "root" && t == "/") && accept(filepath.Join(base, l)) {
				holds = append(holds, l)
			}
		}
		fds, _ := os.ReadDir(filepath.Join(base, "fd"))
		for i, fe := range fds {
			if i >= maxFDs {
				break
			}
			fp := filepath.Join(base, "fd", fe.Name())
			if t, err := os.Readlink(fp); err == nil && strings.HasPrefix(t, "/") && under(t) && accept(fp) {
				holds = append(holds, fmt.Sprintf("fd %s → %s", fe.Name(), t))
			}
		}
		holds = append(holds, mappedUnder(filepath.Join(base, "maps"), under, keep)...)
		if len(holds) == 0 {
			continue
		}
		if len(holds) > maxHoldsShown {
			holds = append(holds[:maxHoldsShown], fmt.Sprintf("and %d more", len(holds)-maxHoldsShown))
		}
		comm, _ := os.ReadFile(filepath.Join(base, "comm"))
		out = append(out, Holder{PID: pid, Comm: strings.TrimSpace(string(comm)), Hold: holds})
	}
	return out
}

// mappedUnder lists the files mapped from under dir, once each. A maps line
// carries the device: "addr perms offset MAJ:MIN inode path".
func mappedUnder(maps string, under func(string) bool, keep func(uint64) bool) []string {
	f, err := os.Open(maps)
	if err != nil {
		return nil
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), " ", 6)
		if len(fields) < 6 {
			continue
		}
		p := strings.TrimLeft(fields[5], " ")
		if !strings.HasPrefix(p, "/") || !under(p) || seen[p] {
			continue
		}
		seen[p] = true
		if keep != nil {
			var maj, min uint32
			if _, err := fmt.Sscanf(fields[3], "%x:%x", &maj, &min); err != nil || !keep(unix.Mkdev(maj, min)) {
				continue
			}
		}
		out = append(out, "mmap "+p)
	}
	return out
}

// Bypass is the check form of Bypassers for a running mount at mp serving
// source; fuseDev is the mount's device, skip its mirrorfs.
func Bypass(mp, source string, fuseDev uint64, skip ...int) Check {
	const name = "bypass"
	keep := func(dev uint64) bool { return dev != fuseDev }
	hs := Bypassers(source, keep, append(skip, os.Getpid())...)
	if len(hs) == 0 {
		return ok(name, "no process holds files under %s except through the mount", source)
	}
	var lines []string
	for _, h := range hs {
		lines = append(lines, h.String())
	}
	return warn(name, fmt.Sprintf("%d process(es) hold files under %s opened before the mount: %s", len(hs), source, strings.Join(lines, "; ")),
		"restart them: their writes bypass mirrorfs until they reopen the files; or rely on the initial sync, `mirrorfs sync --full "+mp+"` or reconcile-interval")
}

// parent is the parent pid from /proc/PID/stat ("pid (comm) state ppid ..."),
// 0 when unknown.
func parent(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}
