package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const clkTck = 100 // USER_HZ on Linux

// quiesce flushes dirty data and empties the page, dentry and inode caches,
// so one cell's write-back and cache state do not leak into the next.
func quiesce(t testing.TB) {
	t.Helper()
	unix.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
		t.Fatalf("dropping caches (needs root): %v", err)
	}
}

// proc is a program the benchmark started in its own process group.
type proc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	out    string // file holding stdout+stderr
}

func startProc(t testing.TB, name string, out string, env []string, argv ...string) *proc {
	t.Helper()
	f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, exited: make(chan struct{}), out: out}
	registerPgid(cmd.Process.Pid)
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.kill(5 * time.Second) })
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill ends the whole process group: SIGTERM, then SIGKILL after grace.
func (p *proc) kill(grace time.Duration) {
	pg := -p.pid()
	if p.running() {
		syscall.Kill(pg, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(grace):
		}
	}
	syscall.Kill(pg, syscall.SIGKILL)
	<-p.exited
}

func (p *proc) output() string {
	b, _ := os.ReadFile(p.out)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// procStat is /proc/PID/stat of every live process, the fields after the
// command name: [1] ppid, [11:15] utime stime cutime cstime.
func procStat() map[int][]string {
	out := map[int][]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(b, ')'); i >= 0 {
			out[n] = strings.Fields(string(b[i+1:]))
		}
	}
	return out
}

// descendantsIn lists pid and all its live descendants in a procStat snapshot.
func descendantsIn(all map[int][]string, pid int) []int {
	children := map[int][]int{}
	for n, f := range all {
		if len(f) > 1 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], n)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// treeCPU is the CPU time (user+system, own and reaped children) of pid and
// every live descendant: a tool's total including the rsyncs it ran.
func treeCPU(pid int) time.Duration {
	all := procStat()
	var total int64
	for _, n := range descendantsIn(all, pid) {
		if f := all[n]; len(f) >= 15 {
			for _, x := range f[11:15] {
				v, _ := strconv.ParseInt(x, 10, 64)
				total += v
			}
		}
	}
	return time.Duration(total) * time.Second / clkTck
}

// rssKiB reads VmRSS of pid.
func rssKiB(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return -1
}

// mountType returns the filesystem type mounted at mp ("" when none).
func mountType(mp string) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	typ := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		sep := -1
		for i, x := range f {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || len(f) < 5 || sep+1 >= len(f) {
			continue
		}
		if unescapeMount(f[4]) == mp {
			typ = f[sep+1] // the last (top) mount wins
		}
	}
	return typ
}

func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// lazyUnmount is the last resort for a mount left behind.
func lazyUnmount(mp string) {
	switch typ := mountType(mp); {
	case strings.HasPrefix(typ, "fuse"):
		exec.Command("fusermount3", "-u", "-z", mp).Run()
	case typ != "":
		// The scratch filesystem: its image is gigabytes, do not leave it.
		exec.Command("umount", "-l", mp).Run()
		if base := filepath.Dir(mp); strings.HasPrefix(filepath.Base(base), "mirrorfs-scratch-") {
			os.RemoveAll(base)
		}
	}
}

func run(ctx context.Context, argv ...string) (string, error) {
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out), nil
}

func mustRun(t testing.TB, timeout time.Duration, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := run(ctx, argv...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// writeFile writes size bytes of a repeating pattern to path.
func writeFile(path string, size int64) error { return writePattern(path, size, false) }

func writePattern(path string, size int64, sync bool) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	buf := block()
	for size > 0 {
		n := min(size, int64(len(buf)))
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		size -= n
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

var blockBuf []byte

// block is 1 MiB of incompressible-looking bytes.
func block() []byte {
	if blockBuf == nil {
		blockBuf = make([]byte, 1<<20)
		x := uint32(2463534242)
		for i := range blockBuf {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			blockBuf[i] = byte(x)
		}
	}
	return blockBuf
}

// makeTree creates files of size bytes spread over dirs directories below
// root (nested two levels when dirs > 100) and returns their relative paths.
func makeTree(root string, files, dirs int, size int64) ([]string, error) {
	var dirNames []string
	for i := range dirs {
		d := treeDir(i, dirs)
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, err
		}
		dirNames = append(dirNames, d)
	}
	names := make([]string, 0, files)
	for i := range files {
		rel := fmt.Sprintf("%s/f%07d", dirNames[i%dirs], i)
		// Each file its own slice of the block, so -z cannot compress
		// one file against the previous one.
		off := (int64(i) * 104729) % (int64(len(block())) - size + 1)
		if err := os.WriteFile(filepath.Join(root, rel), block()[off:off+size], 0o644); err != nil {
			return nil, err
		}
		names = append(names, rel)
	}
	return names, nil
}

func countDirs(root string) int {
	n := 0
	filepath.WalkDir(root, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func trimNL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

func splitLines(s string) []string { return strings.Split(s, "\n") }

// descendants lists pid and all its live descendants.
func descendants(pid int) []int { return descendantsIn(procStat(), pid) }

// pollFast is testkit.Poll with a fixed 5 ms interval: readiness times are
// measured with it, so it must not back off.
func pollFast(timeout time.Duration, cond func() (bool, string)) (bool, string) {
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok || time.Now().After(deadline) {
			return ok, msg
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Interrupt clean-up: an interrupted test binary runs no t.Cleanup, so the
// process groups and mountpoints it made are remembered here.
var (
	regMu     sync.Mutex
	regPgids  []int
	regMounts []string
)

func registerPgid(pgid int) {
	regMu.Lock()
	regPgids = append(regPgids, pgid)
	regMu.Unlock()
}

func registerMount(mp string) {
	regMu.Lock()
	regMounts = append(regMounts, mp)
	regMu.Unlock()
}

// cleanupOnSignal kills what the benchmark started and lazily unmounts its
// mounts when the run is interrupted (SIGINT, SIGTERM), then exits.
func cleanupOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-ch
		regMu.Lock()
		for _, pg := range regPgids {
			syscall.Kill(-pg, syscall.SIGKILL)
		}
		for i := len(regMounts) - 1; i >= 0; i-- {
			lazyUnmount(regMounts[i])
		}
		regMu.Unlock()
		fmt.Fprintf(os.Stderr, "bench: interrupted by %v; stopped its processes and mounts (temporary directories under %s are left)\n", s, os.TempDir())
		os.Exit(1)
	}()
}
