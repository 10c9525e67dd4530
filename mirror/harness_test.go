package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

const (
	daemonUser = "rsyncuser"
	daemonPass = "s3cret-daemon-pw"
)

// daemon is a real `rsync --daemon` on 127.0.0.1 serving one module.
type daemon struct {
	t      *testing.T
	root   string
	module string // the module's directory
	port   int
	conf   string
	cmd    *osexec.Cmd
	exited chan struct{}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startDaemon(t *testing.T) *daemon {
	requireRsync(t)
	root := t.TempDir()
	d := &daemon{t: t, root: root, module: filepath.Join(root, "module"), port: freePort(t), conf: filepath.Join(root, "rsyncd.conf")}
	if err := os.Mkdir(d.module, 0o755); err != nil {
		t.Fatal(err)
	}
	secrets := filepath.Join(root, "secrets")
	if err := os.WriteFile(secrets, []byte(daemonUser+":"+daemonPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`use chroot = no
munge symlinks = no
uid = root
gid = root
log file = %s/rsyncd.log
[mod]
path = %s
read only = no
auth users = %s
secrets file = %s
`, root, d.module, daemonUser, secrets)
	if err := os.WriteFile(d.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	d.start()
	t.Cleanup(d.stop)
	return d
}

func (d *daemon) start() {
	d.t.Helper()
	d.cmd = osexec.Command("rsync", "--daemon", "--no-detach", "--config="+d.conf, "--address=127.0.0.1", "--port="+strconv.Itoa(d.port))
	d.cmd.Stderr = os.Stderr
	if err := d.cmd.Start(); err != nil {
		d.t.Fatalf("start rsync daemon: %v", err)
	}
	d.exited = make(chan struct{})
	go func(c *osexec.Cmd, ch chan struct{}) { c.Wait(); close(ch) }(d.cmd, d.exited)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(d.port))
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-d.exited:
			d.t.Fatalf("rsync daemon exited at start; see %s/rsyncd.log", d.root)
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("rsync daemon not listening on port %d: %v", d.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *daemon) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	select {
	case <-d.exited:
	default:
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(5 * time.Second):
			d.cmd.Process.Kill()
			<-d.exited
		}
	}
	d.cmd = nil
}

func (d *daemon) dest() Destination {
	return Destination{Kind: DestDaemon, User: daemonUser, Host: "127.0.0.1", Port: d.port, Module: "mod"}
}

// passwordFile writes pw to a fresh 0600 file.
func passwordFile(t *testing.T, pw string) string {
	p := filepath.Join(t.TempDir(), "rsync.pw")
	if err := os.WriteFile(p, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// logBuf collects the engine's log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// harness drives an Engine over a real source directory, mutating it
// directly and reporting the events a filesystem layer would.
type harness struct {
	t      *testing.T
	src    string
	dst    string // the directory the destination writes into
	eng    *Engine
	logs   *logBuf
	cancel context.CancelFunc
	done   chan struct{}
}

func newHarness(t *testing.T, dest Destination, dstDir string, run bool, tweak func(*Config)) *harness {
	t.Helper()
	requireRsync(t)
	h := &harness{t: t, src: t.TempDir(), dst: dstDir, logs: &logBuf{}}
	return h.init(dest, run, tweak)
}

// newHarnessAt is newHarness over an existing source directory.
func newHarnessAt(t *testing.T, src string, dest Destination, dstDir string, run bool, tweak func(*Config)) *harness {
	t.Helper()
	requireRsync(t)
	h := &harness{t: t, src: src, dst: dstDir, logs: &logBuf{}}
	return h.init(dest, run, tweak)
}

func (h *harness) init(dest Destination, run bool, tweak func(*Config)) *harness {
	t := h.t
	f, err := os.Open(h.src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	cfg := testConfig(func(c *Config) {
		c.Source, c.SourceName, c.Dest = f, "src", dest
		c.Delay, c.MaxDelay = 50*time.Millisecond, 500*time.Millisecond
		c.RetryMin, c.RetryMax = 50*time.Millisecond, 400*time.Millisecond
		c.Timeout, c.ConTimeout = 10*time.Second, 5*time.Second
		c.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	if tweak != nil {
		tweak(&cfg)
	}
	h.eng, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if run {
		h.start()
	}
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("engine log:\n%s", h.logs.String())
		}
	})
	return h
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() { h.eng.Run(ctx); close(h.done) }()
}

func (h *harness) stop() {
	if h.cancel != nil {
		h.cancel()
		<-h.done
		h.cancel = nil
	}
}

func (h *harness) abs(p string) string { return filepath.Join(h.src, p) }

func (h *harness) add(ev change.Change) { h.eng.Add(ev) }

func (h *harness) write(p, data string) {
	h.t.Helper()
	_, err := os.Lstat(h.abs(p))
	created := errors.Is(err, fs.ErrNotExist)
	if err := os.WriteFile(h.abs(p), []byte(data), 0o644); err != nil {
		h.t.Fatal(err)
	}
	if created {
		h.add(change.Change{Op: change.OpCreate, Path: p})
	}
	h.add(change.Change{Op: change.OpWrite, Path: p})
}

func (h *harness) mkdir(p string) {
	h.t.Helper()
	if err := os.Mkdir(h.abs(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	h.add(change.Change{Op: change.OpCreate, Path: p, Dir: true})
}

func (h *harness) rename(a, b string) {
	h.t.Helper()
	st, err := os.Lstat(h.abs(a))
	if err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(h.abs(a), h.abs(b)); err != nil {
		h.t.Fatal(err)
	}
	h.add(change.Change{Op: change.OpRename, From: a, Path: b, Dir: st.IsDir()})
}

// removeAll deletes bottom-up, one event per object, like rm -r through a mount.
func (h *harness) removeAll(p string) {
	h.t.Helper()
	st, err := os.Lstat(h.abs(p))
	if err != nil {
		h.t.Fatal(err)
	}
	if st.IsDir() {
		ents, err := os.ReadDir(h.abs(p))
		if err != nil {
			h.t.Fatal(err)
		}
		for _, e := range ents {
			h.removeAll(p + "/" + e.Name())
		}
	}
	if err := os.Remove(h.abs(p)); err != nil {
		h.t.Fatal(err)
	}
	h.add(removed(p, st.IsDir()))
}

func (h *harness) sync(timeout time.Duration) (SyncResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return h.eng.Sync(ctx)
}

func (h *harness) mustSync() {
	h.t.Helper()
	if _, err := h.sync(30 * time.Second); err != nil {
		h.t.Fatalf("Sync: %v", err)
	}
}

// compareTrees walks both trees and reports every difference in type,
// mode, owner, mtime, content, symlink target and hard-link grouping.
func compareTrees(t *testing.T, src, dst string, skip func(rel string) bool) {
	t.Helper()
	type node struct {
		st     syscall.Stat_t
		target string
		data   []byte
	}
	walk := func(root string) map[string]node {
		out := map[string]node{}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if skip != nil && skip(rel) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			var n node
			if err := syscall.Lstat(p, &n.st); err != nil {
				return err
			}
			switch n.st.Mode & syscall.S_IFMT {
			case syscall.S_IFLNK:
				n.target, err = os.Readlink(p)
			case syscall.S_IFREG:
				n.data, err = os.ReadFile(p)
			}
			out[rel] = n
			return err
		})
		if err != nil {
			t.Fatalf("walk %s: %v", root, err)
		}
		return out
	}
	s, d := walk(src), walk(dst)
	firstOf := map[uint64]string{}
	for rel, a := range s {
		b, ok := d[rel]
		if !ok {
			t.Errorf("missing on destination: %q", rel)
			continue
		}
		isDir := a.st.Mode&syscall.S_IFMT == syscall.S_IFDIR
		switch {
		case a.st.Mode != b.st.Mode:
			t.Errorf("%q: mode %o, destination %o", rel, a.st.Mode, b.st.Mode)
		case a.st.Uid != b.st.Uid || a.st.Gid != b.st.Gid:
			t.Errorf("%q: owner %d:%d, destination %d:%d", rel, a.st.Uid, a.st.Gid, b.st.Uid, b.st.Gid)
		case a.st.Mtim != b.st.Mtim:
			t.Errorf("%q: mtime %v, destination %v", rel, time.Unix(a.st.Mtim.Unix()), time.Unix(b.st.Mtim.Unix()))
		case a.target != b.target:
			t.Errorf("%q: symlink -> %q, destination -> %q", rel, a.target, b.target)
		case !bytes.Equal(a.data, b.data):
			t.Errorf("%q: content differs (%d vs %d bytes)", rel, len(a.data), len(b.data))
		case !isDir && a.st.Nlink != b.st.Nlink:
			t.Errorf("%q: %d links, destination %d", rel, a.st.Nlink, b.st.Nlink)
		}
		if a.st.Nlink > 1 && !isDir {
			if first, ok := firstOf[a.st.Ino]; ok {
				if d[first].st.Ino != b.st.Ino {
					t.Errorf("%q and %q are hard links in the source but not on the destination", rel, first)
				}
			} else {
				firstOf[a.st.Ino] = rel
			}
		}
	}
	for rel := range d {
		if _, ok := s[rel]; !ok {
			t.Errorf("extra on destination: %q", rel)
		}
	}
}

func mustWrite(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
