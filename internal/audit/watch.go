package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// changeMask: the events that mean a change, plus IN_MODIFY as evidence.
const changeMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_CLOSE_WRITE | unix.IN_ATTRIB |
	unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_MODIFY
const watchMask = changeMask | unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW

// watcher owns the inotify descriptor's watch table; it runs on one
// goroutine, the only one that touches the mount.
type watcher struct {
	ctx     context.Context // a long initial walk stops with the audit
	a       *Auditor
	fd      int
	paths   map[int32]string // wd -> path relative to the root, "." for the root
	movedFm struct {
		cookie uint32
		path   string
	}
	full bool // max_user_watches reached: logged once
}

func newWatcher(a *Auditor, fd int) *watcher {
	return &watcher{a: a, fd: fd, paths: map[int32]string{}}
}

func (w *watcher) run(ctx context.Context) {
	w.ctx = ctx
	w.addTree(".", time.Time{})
	if ctx.Err() != nil {
		return
	}
	now := time.Now()
	w.a.inotifyHorizon.Store(&now)
	w.a.readyAt.Store(&now)
	w.a.log.Info("inotify audit: watching the mount", "root", w.a.opts.Root, "watches", len(w.paths), "window", w.a.opts.Window)

	buf := make([]byte, 64<<10)
	for ctx.Err() == nil {
		w.a.idle.Store(true)
		n, err := w.a.file.Read(buf)
		w.a.idle.Store(false)
		at := time.Now()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, os.ErrClosed) {
				w.a.setErr("reading inotify events: " + err.Error())
				w.a.log.Warn("inotify audit stopped: reading events failed", "err", err)
			}
			return
		}
		w.handle(buf[:n], at)
		if n < len(buf)-(unix.SizeofInotifyEvent+unix.NAME_MAX+1) {
			w.a.inotifyHorizon.Store(&at) // the queue was drained by this read
		}
	}
}

func (w *watcher) handle(b []byte, at time.Time) {
	for len(b) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(b) {
			return
		}
		name := strings.TrimRight(string(b[unix.SizeofInotifyEvent:end]), "\x00")
		b = b[end:]
		w.event(ev.Wd, ev.Mask, ev.Cookie, name, at)
	}
}

func (w *watcher) event(wd int32, mask, cookie uint32, name string, at time.Time) {
	if mask&unix.IN_Q_OVERFLOW != 0 {
		w.a.overflows.Add(1)
		w.a.m.forget(sideFUSE)
		w.a.log.Warn("inotify audit: the inotify queue overflowed; changes of that moment are not compared (raise fs.inotify.max_queued_events)")
		return
	}
	dir, ok := w.paths[wd]
	if !ok {
		return
	}
	if mask&unix.IN_IGNORED != 0 {
		delete(w.paths, wd)
		w.a.watchCount.Store(int64(len(w.paths)))
		return
	}
	p := join(dir, name)
	isDir := mask&unix.IN_ISDIR != 0
	switch {
	case mask&unix.IN_MOVED_FROM != 0 && isDir:
		w.movedFm.cookie, w.movedFm.path = cookie, p
	case mask&unix.IN_MOVED_TO != 0 && isDir:
		if cookie != 0 && cookie == w.movedFm.cookie {
			w.renamed(w.movedFm.path, p)
		} else {
			w.addTree(p, at)
		}
	case mask&unix.IN_CREATE != 0 && isDir:
		w.addTree(p, at)
	}
	if name == "" && mask&(unix.IN_MODIFY|unix.IN_ATTRIB) == 0 {
		return // about the watched directory itself, and no change to it
	}
	w.a.inotifyEvents.Add(1)
	if mask&changeMask == unix.IN_MODIFY {
		w.a.m.evidence(p, at)
		return
	}
	w.a.m.see(sideInotify, p, at, maskKinds(mask).String())
}

// renamed rewrites the watched paths under a renamed directory: watches
// follow inodes, their paths do not.
func (w *watcher) renamed(from, to string) {
	for wd, p := range w.paths {
		if p == from {
			w.paths[wd] = to
		} else if rest, ok := strings.CutPrefix(p, from+"/"); ok {
			w.paths[wd] = to + "/" + rest
		}
	}
}

// addTree watches dir and every directory below it. For a directory that
// appeared while mounted (at is set), what it already holds was created
// before its watch could report it: its entries count as inotify evidence,
// which is what inotifywait users get from a rescan.
func (w *watcher) addTree(dir string, at time.Time) {
	if w.ctx.Err() != nil {
		return
	}
	abs := filepath.Join(w.a.opts.Root, dir)
	wd, err := unix.InotifyAddWatch(w.fd, abs, watchMask)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return // gone again, or replaced by a file
		}
		w.a.watchErrors.Add(1)
		if errors.Is(err, unix.ENOSPC) && !w.full {
			w.full = true
			w.a.log.Warn("inotify audit: fs.inotify.max_user_watches reached; directories without a watch are not audited", "dir", abs)
		}
		return
	}
	w.paths[int32(wd)] = dir
	w.a.watchCount.Store(int64(len(w.paths)))
	entries, err := os.ReadDir(abs)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := join(dir, e.Name())
		if !at.IsZero() {
			w.a.m.evidence(p, at)
		}
		if e.IsDir() {
			w.addTree(p, at)
		}
	}
}

func join(dir, name string) string {
	switch {
	case name == "":
		return dir
	case dir == ".":
		return name
	}
	return dir + "/" + name
}

var maskBits = [change.NumKinds]uint32{
	change.Create: unix.IN_CREATE, change.Modify: unix.IN_MODIFY, change.Attrib: unix.IN_ATTRIB,
	change.CloseWrite: unix.IN_CLOSE_WRITE, change.MovedFrom: unix.IN_MOVED_FROM,
	change.MovedTo: unix.IN_MOVED_TO, change.Delete: unix.IN_DELETE, change.IsDir: unix.IN_ISDIR,
}

// maskKinds is what an inotify event mask says, in the shared words.
func maskKinds(mask uint32) change.Kinds {
	var ks change.Kinds
	for k, bit := range maskBits {
		if mask&bit != 0 {
			ks |= change.Of(change.Kind(k))
		}
	}
	return ks
}
