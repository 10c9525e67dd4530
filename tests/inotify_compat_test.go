package tests

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// The ops article's watcher, word for word (its script watches with these
// options and reads "DATE TIME DIR FILE" plus the events).
var articleInotifyArgs = []string{"-mrq", "--timefmt", "%Y-%m-%d %H:%M", "--format", "%T %w %f %e",
	"-e", "create,delete,moved_to,close_write,attrib"}

// watcher is one running inotifywait and the lines it printed.
type watcher struct {
	root  string
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

func startInotifywait(t *testing.T, root string) *watcher {
	t.Helper()
	testkit.Require(t, "inotifywait")
	w := &watcher{root: root, done: make(chan struct{})}
	w.cmd = exec.Command("inotifywait", append(append([]string{}, articleInotifyArgs...), root)...)
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	w.cmd.Stderr = &stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("starting inotifywait: %v", err)
	}
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			w.mu.Lock()
			w.lines = append(w.lines, sc.Text())
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		w.cmd.Process.Kill()
		<-w.done
		w.cmd.Wait()
	})
	// -q hides "Watches established": poke the tree until an event shows.
	for i := 0; ; i++ {
		name := fmt.Sprintf(".ready-%d", i)
		if err := os.WriteFile(filepath.Join(root, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if ok, _ := testkit.Poll(300*time.Millisecond, func() (bool, string) { return w.index(name) >= 0, "" }); ok {
			break
		}
		if i > 50 {
			t.Fatalf("inotifywait on %s printed nothing for 50 test files: %s", root, stderr.String())
		}
	}
	w.barrier(t, "start")
	w.mu.Lock()
	w.lines = nil
	w.mu.Unlock()
	return w
}

// index is the position of the last CLOSE_WRITE line for the top-level name.
func (w *watcher) index(name string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.lines) - 1; i >= 0; i-- {
		if f := strings.Fields(w.lines[i]); len(f) == 5 && f[3] == name && strings.HasPrefix(f[4], "CLOSE_WRITE") {
			return i
		}
	}
	return -1
}

// barrier creates a top-level file and waits for its event. One inotify
// instance has one ordered queue, and inotifywait adds the watch of a new
// directory before it reads the next event: after the barrier, every
// earlier event is printed and every new directory is watched.
func (w *watcher) barrier(t *testing.T, name string) {
	t.Helper()
	name = ".barrier-" + name
	if err := os.WriteFile(filepath.Join(w.root, name), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() (bool, string) {
		return w.index(name) >= 0, fmt.Sprintf("inotifywait on %s did not report %s; lines so far: %q", w.root, name, w.snapshot())
	})
}

func (w *watcher) snapshot() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.lines...)
}

var articleLineRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2} (\S+) (.*)$`)

// normalized drops the timestamps (checked for the article's format) and
// replaces the watched root by "ROOT/".
func (w *watcher) normalized(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, l := range w.snapshot() {
		m := articleLineRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("inotifywait line %q does not follow --format '%%T %%w %%f %%e' with --timefmt '%%Y-%%m-%%d %%H:%%M'", l)
		}
		dir, ok := strings.CutPrefix(m[1], w.root+"/")
		if !ok {
			t.Fatalf("inotifywait line %q: directory outside %s", l, w.root)
		}
		out = append(out, "ROOT/"+dir+" "+m[2])
	}
	return out
}

// scriptedOps runs the same operations in root, with a barrier after each
// step so that inotifywait watches new directories before they are used.
func scriptedOps(t *testing.T, w *watcher) {
	t.Helper()
	p := func(rel string) string { return filepath.Join(w.root, rel) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name string
		do   func()
	}{
		{"create", func() { must(os.WriteFile(p("a.txt"), nil, 0o644)) }},
		{"write", func() {
			f, err := os.OpenFile(p("a.txt"), os.O_WRONLY|os.O_APPEND, 0)
			must(err)
			_, err = f.WriteString("hello\n")
			must(err)
			must(f.Close())
		}},
		{"chmod", func() { must(os.Chmod(p("a.txt"), 0o600)) }},
		{"mkdir", func() { must(os.Mkdir(p("d"), 0o755)) }},
		{"mkdir2", func() { must(os.Mkdir(p("e"), 0o755)) }},
		{"nested create", func() { must(os.WriteFile(p("d/n.txt"), []byte("nested\n"), 0o644)) }},
		{"nested mkdir", func() { must(os.Mkdir(p("d/sub"), 0o755)) }},
		{"deep create", func() { must(os.WriteFile(p("d/sub/deep.txt"), []byte("deep\n"), 0o644)) }},
		{"rename within", func() { must(os.Rename(p("d/n.txt"), p("d/m.txt"))) }},
		{"rename across", func() { must(os.Rename(p("d/m.txt"), p("e/m.txt"))) }},
		{"rename dir", func() { must(os.Rename(p("d/sub"), p("e/sub"))) }},
		{"chmod dir", func() { must(os.Chmod(p("e/sub"), 0o700)) }},
		{"delete", func() { must(os.Remove(p("e/sub/deep.txt"))) }},
		{"rmdir", func() { must(os.Remove(p("e/sub"))) }},
		{"replace by rename", func() {
			must(os.WriteFile(p("e/tmp"), []byte("new\n"), 0o644))
			must(os.Rename(p("e/tmp"), p("e/m.txt")))
		}},
		{"delete top", func() { must(os.Remove(p("a.txt"))) }},
	}
	for i, s := range steps {
		s.do()
		w.barrier(t, fmt.Sprintf("%02d", i))
	}
}

// TestInotifyCompat: the article's inotifywait command sees the same event
// sequence on a mirrorfs mount as on a plain directory, so scripts and
// tools built on inotify keep working on the mount.
func TestInotifyCompat(t *testing.T) {
	testkit.Require(t, "inotifywait")
	m := mountMirror(t, mountOptions{})
	plain := t.TempDir()

	var got [2][]string
	for i, root := range []string{plain, m.Mnt} {
		w := startInotifywait(t, root)
		scriptedOps(t, w)
		got[i] = w.normalized(t)
	}
	want, onMount := got[0], got[1]

	// The reference itself must show every kind of event the article asks for.
	joined := strings.Join(want, "\n")
	for _, ev := range []string{" CREATE", " CREATE,ISDIR", " CLOSE_WRITE,CLOSE", " ATTRIB", " ATTRIB,ISDIR", " MOVED_TO", " MOVED_TO,ISDIR", " DELETE", " DELETE,ISDIR"} {
		if !strings.Contains(joined, ev+"\n") {
			t.Errorf("reference sequence on a plain directory has no %q event:\n%s", strings.TrimSpace(ev), joined)
		}
	}
	if strings.Join(onMount, "\n") != joined {
		t.Errorf("inotifywait on the mount saw a different sequence than on a plain directory\n%s", lineDiff(want, onMount))
	}
	m.assertMirrored(t, testkit.CompareOptions{})
}

// lineDiff shows both sequences side by side, marking the differing rows.
func lineDiff(want, got []string) string {
	var b strings.Builder
	n := max(len(want), len(got))
	fmt.Fprintf(&b, "   %-60s | %s\n", "plain directory", "mirrorfs mount")
	for i := 0; i < n; i++ {
		var a, c string
		if i < len(want) {
			a = want[i]
		}
		if i < len(got) {
			c = got[i]
		}
		mark := "  "
		if a != c {
			mark = "!!"
		}
		fmt.Fprintf(&b, "%s %-60s | %s\n", mark, a, c)
	}
	return b.String()
}
