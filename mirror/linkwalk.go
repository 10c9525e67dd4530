package mirror

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// The link index learns the names of linked files that existed before the
// mount from one walk of the source at start: a getdents and an fstatat
// per name, the same reading the initial sync's own file list costs, and
// run beside it. Until the walk is done, only linked files and recursive
// entries wait for it; other changes ship. Changes made through the mount
// meanwhile update the index as usual. A rename during the walk can carry a name from a
// part not yet walked into one already walked; those destinations are
// walked again once the walk is done.

// linkWalk is how far the index knows the source.
type linkWalk struct {
	done    bool
	active  bool
	recheck []string // renamed to while the walk ran
	held    []*entry // in flight, waiting for the walk (holdUnindexed)
	names   int      // linked names the last walk found
	took    time.Duration
}

// walkGrace is how long the first batch waits for the walk before it
// ships what does not need the index: small trees are walked by then.
var walkGrace = time.Second

// startWalk starts the walk that fills the link index, unless it ran or
// runs, and waits up to walkGrace for it. Until it is done, batches hold
// back the entries it matters for (holdUnindexed); when it ends, they go
// back to the queue. stop ends a walk this call started and waits for it.
func (e *Engine) startWalk(ctx context.Context) (stop func()) {
	e.mu.Lock()
	if e.walk.done || e.walk.active || e.cfg.Source == nil {
		if e.cfg.Source == nil {
			e.walk.done = true
		}
		e.mu.Unlock()
		return func() {}
	}
	e.walk.active = true
	e.mu.Unlock()
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.walkLinks(wctx)
		e.mu.Lock()
		for _, m := range e.walk.held {
			e.q.requeue(m, nil)
		}
		e.walk.held = nil
		e.broadcastLocked()
		e.mu.Unlock()
		e.poke()
	}()
	t := time.NewTimer(walkGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		e.log.Info("indexing hard-linked names in the background; changes to linked files wait for it")
	case <-ctx.Done():
	}
	return func() {
		cancel()
		<-done
	}
}

// walkLinks fills the link index from the source.
func (e *Engine) walkLinks(ctx context.Context) {
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
	e.noteTreeFilesLocked(w.files)
	e.log.Debug("hard-linked names indexed", "names", w.found, "took", e.walk.took)
}

// holdUnindexed keeps, while the walk runs, the entries of b whose names
// the index may not know yet: linked files, and directories shipped
// recursively (they may hold some). They stay in flight, so barriers
// wait for them, until the walk ends. It reports whether anything is
// left to ship now.
func (e *Engine) holdUnindexed(b *batch) bool {
	e.mu.Lock()
	done := e.walk.done
	e.mu.Unlock()
	if done {
		return true
	}
	hold := make(map[*entry]bool)
	for _, m := range b.all {
		if m.recursive {
			hold[m] = true
		} else if _, _, _, linked := e.statLinked(m.path); linked {
			hold[m] = true
		}
	}
	if len(hold) == 0 {
		return true
	}
	var keep, held []*entry
	for _, m := range b.all {
		if hold[m] || (m.coveredBy != nil && hold[m.coveredBy]) {
			held = append(held, m)
		} else {
			keep = append(keep, m)
		}
	}
	e.mu.Lock()
	if e.walk.done { // it ended meanwhile
		e.mu.Unlock()
		return true
	}
	e.walk.held = append(e.walk.held, held...)
	e.mu.Unlock()
	e.log.Debug("waiting for the hard-link index", "held", len(held))
	b.all = keep
	b.runs = planBatch(keep)
	return len(keep) > 0
}

// indexLocked keeps the link index in step with one change. id is the
// inode of a new hard link (linked: it has more than one name).
func (e *Engine) indexLocked(ev change.Change, id fileID, linked bool) {
	x := e.links
	switch ev.Op {
	case change.OpCreate, change.OpMkdir, change.OpMknod, change.OpSymlink, change.OpLink:
		if linked && ev.From != "" && ev.Op == change.OpLink {
			x.link(id, ev.From, ev.Path)
			return
		}
		if x.len() > 0 {
			x.remove(ev.Path)
		}
	case change.OpUnlink, change.OpRmdir:
		if x.len() > 0 {
			x.remove(ev.Path)
		}
	case change.OpRename:
		x.rename(ev.From, ev.Path)
		if e.walk.active {
			e.walk.recheck = append(e.walk.recheck, ev.Path)
		}
	case change.OpExchange:
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
	files int // non-directories seen: the tree's size for hold-deletes=P%
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
			w.files++
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
