package fs

import (
	"context"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// stamp is what fstat tells about content changes.
type stamp struct {
	size         int64
	mtime, ctime syscall.Timespec
}

func stampOf(st *syscall.Stat_t) stamp {
	return stamp{size: st.Size, mtime: st.Mtim, ctime: st.Ctim}
}

// writeState tracks a node's open handles and whether its content may
// have changed since it was last reported.
type writeState struct {
	handles  map[*file]struct{}
	writers  int
	dirty    bool      // changed in a way a stamp may not show (open for write, create, truncate, ...)
	last     stamp     // at the last report, or when the first writer opened
	reported time.Time // last report or first open for writing, for the ticker
	// wasWriting: the last report said the file stays open for writing;
	// the close that ends that must be reported even with nothing new.
	wasWriting bool
}

func (n *node) opened(f *file, st *syscall.Stat_t) {
	var fresh syscall.Stat_t
	if f.writable && st == nil && f.stat(&fresh) == nil {
		st = &fresh
	}
	n.mu.Lock()
	first := false
	if n.ws.handles == nil {
		n.ws.handles = make(map[*file]struct{}, 1)
	}
	n.ws.handles[f] = struct{}{}
	if f.writable {
		n.ws.writers++
		n.ws.dirty = true
		if n.ws.writers == 1 {
			first = true
			if st != nil {
				n.ws.last = stampOf(st)
			}
			n.ws.reported = time.Now()
		}
	}
	n.mu.Unlock()
	if first {
		n.r.writers.add(n)
	}
}

// checkWrite reports OpWrite if the node is dirty or its stamp moved since
// the last report (writes through passthrough leave no other trace).
// closing: f is being flushed, so it no longer counts as a writer.
func (n *node) checkWrite(f *file, closing bool) {
	var st syscall.Stat_t
	statErr := f.stat(&st)
	n.mu.Lock()
	s := stampOf(&st)
	if closing {
		f.flushed = true
	}
	others := n.activeWritersLocked(f)
	report := n.ws.dirty || statErr == nil && s != n.ws.last || n.ws.wasWriting && others == 0
	if report {
		n.ws.dirty = false
		n.ws.last = s
		n.ws.reported = time.Now()
		n.ws.wasWriting = others > 0
	}
	n.mu.Unlock()
	if report {
		known := &st
		if statErr != nil {
			known = nil
		}
		n.reportStat(change.OpWrite, others > 0, known)
	}
}

func (n *node) released(f *file) {
	n.mu.Lock()
	delete(n.ws.handles, f)
	last := false
	if f.writable {
		n.ws.writers--
		last = n.ws.writers == 0
	}
	n.mu.Unlock()
	if last {
		// Report first: a node leaves the writer set once its last report is out.
		n.checkWrite(f, false)
		n.r.writers.remove(n)
	}
}

// activeWritersLocked counts the writable handles other than skip that no
// close has flushed yet. A flushed handle whose FUSE_RELEASE is still on
// its way (the kernel sends it after close(2) returns) must not make the
// next writer's close look like "still being written": that would report
// the file once more when the late release arrives, and inotify reports
// one CLOSE_WRITE per close. A handle still used after a flush (a dup'd
// descriptor) is caught by the writer ticker and by its final flush, which
// compare stamps.
func (n *node) activeWritersLocked(skip *file) int {
	k := 0
	for h := range n.ws.handles {
		if h.writable && !h.flushed && h != skip {
			k++
		}
	}
	return k
}

// markDirty records a change the next Flush or Release must report.
func (n *node) markDirty() {
	n.mu.Lock()
	n.ws.dirty = true
	n.mu.Unlock()
}

// changed reports op on the node at its current path, saying whether it
// stays open for writing. A node in no directory has nothing to mirror.
func (n *node) changed(op change.Op) {
	n.mu.Lock()
	writing := n.activeWritersLocked(nil) > 0
	n.ws.wasWriting = n.ws.wasWriting || writing
	n.mu.Unlock()
	n.report(op, writing)
}

func (n *node) report(op change.Op, writing bool) { n.reportStat(op, writing, nil) }

// reportStat reports op at n's current path. A node in no directory the
// mount knows was opened through a name since unlinked; if the file still
// has names (hard links never looked up through the mount), it is
// reported by inode, from st or a fresh fstat of one of its handles.
func (n *node) reportStat(op change.Op, writing bool, st *syscall.Stat_t) {
	if rel, ok := n.relPath(); ok {
		n.r.report(change.Change{Op: op, Path: reportPath(rel), Dir: n.isDir(), Writing: writing})
		return
	}
	var fresh syscall.Stat_t
	if st == nil {
		if n.anyHandle(func(fd int) syscall.Errno { return gofs.ToErrno(syscall.Fstat(fd, &fresh)) }) != 0 {
			return
		}
		st = &fresh
	}
	if st.Nlink == 0 || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return
	}
	n.r.report(change.Change{Op: op, Inode: change.Inode{Dev: st.Dev, Ino: st.Ino}, Writing: writing})
}

// openForWriting reports whether the child called name has a writable
// handle: it stays open when the name goes.
func (n *node) openForWriting(name string) bool {
	ch := n.GetChild(name)
	if ch == nil {
		return false
	}
	c, ok := ch.Operations().(*node)
	if !ok {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws.writers > 0
}

// anyHandle runs fn with the descriptor of one of n's open handles,
// preferring a writable one; the handle cannot be released meanwhile.
func (n *node) anyHandle(fn func(fd int) syscall.Errno) syscall.Errno {
	n.mu.Lock()
	defer n.mu.Unlock()
	var pick *file
	for f := range n.ws.handles {
		if pick == nil || f.writable && !pick.writable {
			pick = f
		}
	}
	if pick == nil {
		return syscall.ENOENT
	}
	return fn(pick.fd)
}

// writerSet holds the nodes with writable handles for the periodic check.
type writerSet struct {
	mu    sync.Mutex
	nodes map[*node]struct{}
}

func newWriterSet() *writerSet {
	return &writerSet{nodes: make(map[*node]struct{})}
}

func (w *writerSet) add(n *node) {
	w.mu.Lock()
	w.nodes[n] = struct{}{}
	w.mu.Unlock()
}

func (w *writerSet) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.nodes)
}

func (w *writerSet) remove(n *node) {
	w.mu.Lock()
	delete(w.nodes, n)
	w.mu.Unlock()
}

// run re-reports files kept open for writing whose size or mtime moved,
// at most once per interval each, until ctx ends.
func (w *writerSet) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(max(interval/2, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			w.mu.Lock()
			nodes := make([]*node, 0, len(w.nodes))
			for n := range w.nodes {
				nodes = append(nodes, n)
			}
			w.mu.Unlock()
			for _, n := range nodes {
				n.tick(now, interval)
			}
		}
	}
}

func (n *node) tick(now time.Time, interval time.Duration) {
	n.mu.Lock()
	var pick *file
	if now.Sub(n.ws.reported) >= interval {
		for f := range n.ws.handles {
			if f.writable {
				pick = f
				break
			}
		}
	}
	var st syscall.Stat_t
	report := false
	if pick != nil && pick.stat(&st) == nil {
		s := stampOf(&st)
		if s.size != n.ws.last.size || s.mtime != n.ws.last.mtime {
			n.ws.last = s
			n.ws.reported = now
			n.ws.wasWriting = true
			report = true
		}
	}
	n.mu.Unlock()
	if report {
		n.report(change.OpWrite, true) // still open: shipped as max-delay allows
	}
}

// noteWriting records a report that said the file stays open for writing.
func (n *node) noteWriting(writing bool) {
	n.mu.Lock()
	n.ws.wasWriting = n.ws.wasWriting || writing
	n.mu.Unlock()
}
