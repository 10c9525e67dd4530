package mirror

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// The link index learns the names of linked files that existed before the
// mount from one walk of the source, before the first transfer: a
// getdents and an fstatat per name, the same reading the initial sync's
// own file list costs. Changes made through the mount meanwhile update
// the index as usual. A rename during the walk can carry a name from a
// part not yet walked into one already walked; those destinations are
// walked again once the walk is done.

// linkWalk is how far the index knows the source.
type linkWalk struct {
	done    bool
	active  bool
	recheck []string // renamed to while the walk ran
	names   int      // linked names the last walk found
	took    time.Duration
}

// walkLinks fills the link index from the source, once.
func (e *Engine) walkLinks(ctx context.Context) {
	e.mu.Lock()
	if e.walk.done || e.cfg.Source == nil {
		e.mu.Unlock()
		return
	}
	e.walk.active = true
	e.mu.Unlock()
	start := time.Now()
	w := linkWalker{e: e, ctx: ctx, src: int(e.cfg.Source.Fd())}
	w.dir(w.src, ".", ".")
	for ctx.Err() == nil {
		e.mu.Lock()
		again := e.walk.recheck
		e.walk.recheck = nil
		e.mu.Unlock()
		if len(again) == 0 {
			break
		}
		for _, p := range again {
			w.path(p)
		}
	}
	w.flush()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.walk.active = false
	if ctx.Err() != nil {
		return // walked again next time; stale names are checked before use
	}
	e.walk.done = true
	e.walk.names, e.walk.took = w.found, time.Since(start)
	e.log.Debug("hard-linked names indexed", "names", w.found, "took", e.walk.took)
}

// indexLocked keeps the link index in step with one change. id is the
// inode of a new hard link (linked: it has more than one name).
func (e *Engine) indexLocked(ev Event, id fileID, linked bool) {
	x := e.links
	switch ev.Op {
	case OpCreate:
		if linked && ev.From != "" {
			x.link(id, ev.From, ev.Path)
			return
		}
		if x.len() > 0 {
			x.remove(ev.Path)
		}
	case OpDelete:
		if x.len() > 0 {
			x.remove(ev.Path)
		}
	case OpRename:
		x.rename(ev.From, ev.Path)
		if e.walk.active {
			e.walk.recheck = append(e.walk.recheck, ev.Path)
		}
	case OpExchange:
		x.exchange(ev.From, ev.Path)
		if e.walk.active {
			e.walk.recheck = append(e.walk.recheck, ev.From, ev.Path)
		}
	}
}

// linkWalker collects linked names and hands them to the index in
// groups, so Add never waits long for the lock.
type linkWalker struct {
	e     *Engine
	ctx   context.Context
	src   int
	batch []linkName
	found int
}

func (w *linkWalker) note(p string, st *unix.Stat_t) {
	if st.Mode&unix.S_IFMT == unix.S_IFDIR || st.Nlink < 2 {
		return
	}
	if x := w.e.cfg.Exclude; x != nil && x.Match(p, false) {
		return
	}
	w.batch = append(w.batch, linkName{path: p, id: fileID{st.Dev, st.Ino}})
	if len(w.batch) >= 1024 {
		w.flush()
	}
}

func (w *linkWalker) flush() {
	if len(w.batch) == 0 {
		return
	}
	w.e.mu.Lock()
	for _, ln := range w.batch {
		w.e.links.add(ln.id, ln.path)
	}
	w.e.mu.Unlock()
	w.found += len(w.batch)
	w.batch = w.batch[:0]
}

// path walks p, a file or a directory, relative to the source.
func (w *linkWalker) path(p string) {
	var st unix.Stat_t
	if unix.Fstatat(w.src, p, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		w.note(p, &st)
		return
	}
	fd, err := unix.Openat2(w.src, p, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
	})
	if err == nil {
		w.walk(fd, p)
	}
}

// dir opens name below dirfd and walks it.
func (w *linkWalker) dir(dirfd int, name, rel string) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	w.walk(fd, rel)
}

// walk notes the linked names below the directory fd (which it closes),
// rel being its path.
func (w *linkWalker) walk(fd int, rel string) {
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	for w.ctx.Err() == nil {
		ents, err := f.ReadDir(512)
		for _, de := range ents {
			p := de.Name()
			if rel != "." {
				p = rel + "/" + p
			}
			if de.IsDir() {
				if x := w.e.cfg.Exclude; x == nil || !x.Match(p, true) {
					w.dir(fd, de.Name(), p)
				}
				continue
			}
			var st unix.Stat_t
			if unix.Fstatat(fd, de.Name(), &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
				w.note(p, &st)
			}
		}
		if err != nil {
			return
		}
	}
}
