package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

const progressChanges = 20000

// queueWhileDown stops the daemon and creates n files through the mount,
// each a change of its own in the queue (in the root, which the module
// already has: files in a new directory would fold into it).
func queueWhileDown(t *testing.T, m *Mirror, n int) {
	t.Helper()
	m.Sync(t)
	m.Daemon.Stop()
	t.Cleanup(m.Daemon.Start) // lets the unmount flush even when the test failed
	start := time.Now()
	defer func() {
		t.Logf("queued %d changes with the daemon down in %v", n, time.Since(start).Round(time.Millisecond))
	}()
	for i := range n {
		if err := os.WriteFile(filepath.Join(m.Mnt, fmt.Sprintf("f%05d", i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	waitPending(t, m, n)
}

func waitPending(t *testing.T, m *Mirror, n int) {
	t.Helper()
	deadline := time.Now().Add(syncTimeout)
	for {
		st := m.Status(t)
		if int(st.num("pending")+st.num("in_flight")) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d changes not queued: %s", n, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bringBack starts the daemon and makes the engine try it at once, instead
// of at its next backoff retry.
func bringBack(t *testing.T, m *Mirror) {
	t.Helper()
	m.Daemon.Start()
	if _, errOut, code := m.cli(t, "sync", m.Mnt); code != 0 {
		t.Fatalf("mirrorfs sync: exit %d: %s", code, errOut)
	}
}

var (
	ansiRE        = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)
	changesLeftRE = regexp.MustCompile(`([0-9][0-9,]*) changes? left`)
	plainLineRE   = regexp.MustCompile(`^[0-9][0-9,]* changes? left, [0-9.]+ [KMGTPE]?i?B sent(, [0-9][0-9,]*/s, ETA [0-9hms.]+)?$`)
)

// drawnCounts lists, in order, the "N changes left" a terminal was shown.
func drawnCounts(out string) []string {
	var counts []string
	for _, m := range changesLeftRE.FindAllStringSubmatch(ansiRE.ReplaceAllString(out, ""), -1) {
		if len(counts) == 0 || counts[len(counts)-1] != m[1] {
			counts = append(counts, m[1])
		}
	}
	return counts
}

// On a terminal (a real pty), sync --wait draws a bar whose count moves
// while a flush of 20,000 queued changes runs.
func TestProgressBarOnATerminal(t *testing.T) {
	m := mountMirror(t, mountOptions{})
	queueWhileDown(t, m, progressChanges)

	cmd := exec.Command(mirrorfsBin, "sync", "--wait", "--timeout", syncTimeout.String(), m.Mnt)
	cmd.Env = append(m.env(), "TERM=xterm")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	if err != nil {
		t.Fatalf("starting mirrorfs sync --wait on a pty: %v", err)
	}
	defer tty.Close()
	exited := make(chan error, 1)
	gone := make(chan struct{})
	go func() { err := cmd.Wait(); close(gone); exited <- err }()
	t.Cleanup(func() {
		select {
		case <-gone:
		default:
			cmd.Process.Signal(syscall.SIGKILL)
			<-gone
		}
	})
	var out lockedBuffer
	copied := make(chan struct{})
	go func() { io.Copy(&out, tty); close(copied) }() // ends with EIO once the child is gone

	// The bar is drawn while the daemon is down, then moves once it is back.
	waitOutput(t, &out, func(s string) bool { return len(drawnCounts(s)) > 0 })
	start := time.Now()
	bringBack(t, m)
	select {
	case err = <-exited:
	case <-time.After(syncTimeout + 30*time.Second):
		t.Fatalf("mirrorfs sync --wait on a pty did not return; it drew:\n%q", out.String())
	}
	<-copied
	if err != nil {
		t.Fatalf("mirrorfs sync --wait on a pty: %v\n%q", err, out.String())
	}
	counts := drawnCounts(out.String())
	t.Logf("flush of %d changes: %v; counts drawn on the terminal: %v", progressChanges, time.Since(start).Round(time.Millisecond), counts)
	if len(counts) < 2 {
		t.Fatalf("the bar did not move: counts drawn %v\n%q", counts, out.String())
	}
	if counts[0] != "20,000" || counts[len(counts)-1] != "0" {
		t.Errorf("counts drawn %v: want 20,000 first and 0 last", counts)
	}
	if !strings.Contains(out.String(), "\r") {
		t.Errorf("no bar redrawn in place (no carriage return):\n%q", out.String())
	}
	testkit.AssertTreesEqual(t, m.Data(), m.Daemon.Dir, testkit.CompareOptions{IgnoreRootMode: true, IgnoreRootMtime: true})
}

// Off a terminal, the same waits print plain lines: sync --wait ends with
// its last count; unmount's mount is gone by then.
func TestProgressPlainLines(t *testing.T) {
	for _, tt := range []struct {
		name    string
		args    []string
		endLine bool
	}{
		{"sync --wait", []string{"sync", "--wait"}, true},
		{"unmount", []string{"unmount"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := mountMirror(t, mountOptions{})
			queueWhileDown(t, m, progressChanges)
			got := plainProgress(t, m, append(tt.args, "--timeout", syncTimeout.String(), m.Mnt))
			t.Logf("%s: plain progress lines: %q", tt.name, got)
			if len(got) < 1 || tt.endLine && len(got) < 2 {
				t.Fatalf("want a line during the outage (and one at the end: %v), got %q", tt.endLine, got)
			}
			for _, l := range got {
				if !plainLineRE.MatchString(l) {
					t.Errorf("not a plain progress line: %q", l)
				}
			}
			if first := got[0]; !strings.HasPrefix(first, "20,000 changes left") {
				t.Errorf("first line %q: want the 20,000 queued changes", first)
			}
			if last := got[len(got)-1]; tt.endLine && !strings.HasPrefix(last, "0 changes left") {
				t.Errorf("last line %q: want 0 changes left", last)
			}
			if tt.name == "unmount" {
				if code := m.Wait(t); code != 0 {
					t.Errorf("mirrorfs mount exited %d after unmount", code)
				}
			}
			testkit.AssertTreesEqual(t, m.Data(), m.Daemon.Dir, testkit.CompareOptions{IgnoreRootMode: true, IgnoreRootMtime: true})
		})
	}
}

// plainProgress runs mirrorfs with args, its stderr a pipe, brings the
// daemon back once the first line is out, and returns the stderr lines
// that are not the command's own result.
func plainProgress(t *testing.T, m *Mirror, args []string) []string {
	t.Helper()
	cmd := exec.Command(mirrorfsBin, args...)
	cmd.Env = m.env()
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGKILL)
		}
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var got []string
	timeout := time.After(syncTimeout + 30*time.Second)
	for line := range lines {
		got = append(got, line)
		if len(got) == 1 {
			bringBack(t, m) // the first line came while the daemon was down
		}
		select {
		case <-timeout:
			t.Fatalf("mirrorfs %s did not return; it printed %q", quoteArgs(args), got)
		default:
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("mirrorfs %s: %v\nstderr %q", quoteArgs(args), err, got)
	}
	if strings.Contains(stdout.String(), "changes left") {
		t.Errorf("progress went to stdout: %q", stdout.String())
	}
	return got
}

// lockedBuffer is a bytes.Buffer written by one goroutine, read by another.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitOutput(t *testing.T, out *lockedBuffer, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(syncTimeout)
	for !ok(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("not drawn within %v:\n%q", syncTimeout, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// status shows how far the initial sync got while it runs, in JSON and
// in text.
func TestStatusShowsInitialSyncProgress(t *testing.T) {
	m := mountMirror(t, mountOptions{Setup: func(t *testing.T, dir string) {
		for i := range progressChanges {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d", i)), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}})
	var seen []map[string]any
	text, textOK := "", false
	deadline := time.Now().Add(syncTimeout)
	for {
		st := m.Status(t)
		ini, _ := st["initial_sync"].(map[string]any)
		if p, ok := ini["progress"].(map[string]any); ok && p["files"].(float64) > 0 {
			seen = append(seen, p)
			if !textOK { // the sync may end between the two calls: try again
				text, _, _ = m.cli(t, "status", m.Mnt)
				textOK = strings.Contains(text, "initial sync:") && strings.Contains(text, "files checked")
			}
		}
		if ini["done"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("initial sync not done within %v: %s", syncTimeout, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(seen) == 0 {
		t.Fatal("status never showed the initial sync's progress while it ran")
	}
	last := seen[len(seen)-1]
	t.Logf("%d snapshots of the initial sync's progress, the last %v", len(seen), last)
	if last["files"].(float64) != progressChanges+1 || last["checked"].(float64) > last["files"].(float64) {
		t.Errorf("progress %v: want %d files in the list (and the root)", last, progressChanges)
	}
	if !textOK {
		t.Errorf("status text never showed the initial sync's progress; the last:\n%s", text)
	}
	if st := m.Status(t); st["initial_sync"].(map[string]any)["progress"] != nil {
		t.Errorf("progress still shown once the initial sync is done: %v", st["initial_sync"])
	}
}

// sync --full --wait counts the full sync's files: first that it has not
// started (the daemon is down), at the end none left.
func TestProgressFullSyncPlainLines(t *testing.T) {
	m := mountMirror(t, mountOptions{Args: []string{"--no-initial-sync"}, Setup: func(t *testing.T, dir string) {
		for i := range progressChanges {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d", i)), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}})
	m.Daemon.Stop()
	t.Cleanup(m.Daemon.Start)
	got := plainProgress(t, m, []string{"sync", "--full", "--wait", "--timeout", syncTimeout.String(), m.Mnt})
	t.Logf("sync --full --wait: plain progress lines: %q", got)
	if len(got) < 2 {
		t.Fatalf("want a line during the outage and one at the end, got %q", got)
	}
	fullLineRE := regexp.MustCompile(`^(full sync: not started yet, [0-9,]+ changes queued|full sync: checking the tree, [0-9,]+ files sent \([0-9.]+ [KMGTPE]?i?B\)|[0-9][0-9,]* files? left, [0-9.]+ [KMGTPE]?i?B sent(, [0-9][0-9,]*/s, ETA [0-9hms.]+)?)$`)
	for _, l := range got {
		if !fullLineRE.MatchString(l) {
			t.Errorf("not a full sync progress line: %q", l)
		}
	}
	if !strings.HasPrefix(got[0], "full sync: not started yet") {
		t.Errorf("first line %q: the full sync cannot start while the daemon is down", got[0])
	}
	if last := got[len(got)-1]; !strings.HasPrefix(last, "0 files left") {
		t.Errorf("last line %q: want 0 files left", last)
	}
	testkit.AssertTreesEqual(t, m.Data(), m.Daemon.Dir, testkit.CompareOptions{IgnoreRootMode: true, IgnoreRootMtime: true})
}
