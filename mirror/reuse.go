package mirror

import (
	"context"
	"errors"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// A renamed directory b (from a) would be shipped in full: the recursive
// run lists b, the plain run deletes a. Before those runs, a batch that
// holds both entries pre-seeds the destination's b from its own copy of
// a, in a run of its own:
//
//	rsync -a -H --delete --mkpath --copy-dest=../a /proc/self/fd/4/ DEST/b/
//
// with fd 4 the source's b, opened without following symlinks. Run order
// of such a batch: pre-seeds, recursive run (b, as always), plain runs
// (a's deletion), root run. The pre-seed is only an optimisation: the
// runs after it ship b and delete a exactly as without it, so a pre-seed
// that fails, is refused by the daemon or races with new changes costs
// time, not correctness. rsync takes a file from the old copy only where
// size and time equal the source's, and names changed since the
// destination last saw them are left out of the pre-seed (see rename).
// No pre-seed with rsync < 3.2.3 (no --mkpath), with exclude patterns
// (their rules are anchored at the source root), or for names rsync
// could read as wildcards or escapes.
//
// --copy-dest, not --link-dest: the receiver copies locally instead of
// linking. With links, old and new names share inodes until a's deletion
// lands; if it did not (a failed run, or a recreated in between with
// equal sizes and times), a later --inplace run (separateLinked) writing
// one name would silently change the other. Copies never share an inode;
// the network still carries no file data.

// maxRenames bounds the rename records kept; more renames ship as before.
const maxRenames = 256

// maxSeeds bounds the pre-seed runs of one batch.
const maxSeeds = 8

// maxChanged bounds the changed names kept per rename; past it, no pre-seed.
const maxChanged = 64

// rename is where a renamed directory was, and which names inside it
// (relative to it) changed since the destination last saw it. Those are
// left out of the pre-seed: the destination's old copy of such a file
// may have the new one's size and time (a restored mtime), and rsync's
// quick check would then keep the old content.
type rename struct {
	from    string
	changed []string
}

// changedBelow returns the names pending inside dir, relative to it, and
// false when the destination's copy of dir may be mid-update (something
// inside it in flight) or too much changed.
func (q *queue) changedBelow(dir string) ([]string, bool) {
	if q.fullSync || len(q.renamed) >= maxRenames || len(q.flight) > 1024 {
		return nil, false
	}
	for p := range q.flight {
		if related(p, dir) {
			return nil, false
		}
	}
	var out []string
	ok := true
	q.ascendBelow(dir, func(c *entry) bool {
		if len(out) >= maxChanged {
			ok = false
			return false
		}
		out = append(out, c.path[len(dir)+1:])
		return true
	})
	return out, ok
}

// noteRename records that e (a fresh recursive entry for ev.Path) holds
// the directory that was at ev.From, whose entry old is now a deletion.
func (q *queue) noteRename(e, old *entry, ev change.Change, changed []string) {
	if e == nil || old == nil || e.path != ev.Path || old.path != ev.From || !e.recursive || len(q.renamed) >= maxRenames {
		return
	}
	if q.renamed == nil {
		q.renamed = make(map[*entry]*rename)
	}
	q.renamed[e] = &rename{from: ev.From, changed: changed}
}

// related reports whether a and b are the same path or one contains the other.
func related(a, b string) bool { return a == b || isBelow(a, b) || isBelow(b, a) }

// staleRenames forgets the records ev may invalidate: anything at, inside
// or above the old path, and the new path (or a parent) moving, vanishing
// or being swapped. A change inside the new directory is noted as
// changed: the batch's recursive run ships it, the pre-seed leaves it out.
func (q *queue) staleRenames(ev change.Change) {
	moves := ev.Op == change.OpRename || ev.Op == change.OpExchange || ev.Op == change.OpUnlink || ev.Op == change.OpRmdir
	for e, r := range q.renamed {
		stale := false
		for _, p := range []string{ev.Path, ev.From} {
			switch {
			case p == "":
			case related(p, r.from), moves && (p == e.path || isBelow(e.path, p)):
				stale = true
			case isBelow(p, e.path):
				r.changed = append(r.changed, p[len(e.path)+1:])
				stale = stale || len(r.changed) > maxChanged
			}
		}
		if stale {
			delete(q.renamed, e)
		}
	}
}

// seed is one pre-seed run: the destination's to from its copy of from.
type seed struct {
	to, from string
	skip     []string // changed names inside, relative to it
}

// seedsLocked picks the batch's renamed directories whose old path is deleted
// by the same batch.
func (e *Engine) seedsLocked(b *batch) []seed {
	if !e.q.hasRenames() || !e.cfg.mkpath || e.cfg.Exclude != nil || e.cfg.Source == nil {
		return nil
	}
	listed := make(map[string]*entry)
	for i := range b.runs {
		for _, m := range b.runs[i].entries {
			listed[m.path] = m
		}
	}
	var out []seed
	for i := range b.runs {
		r := &b.runs[i]
		if !r.recursive {
			continue
		}
		for _, m := range r.entries {
			rn, ok := e.q.renameOf(m)
			if !ok || len(out) >= maxSeeds {
				continue
			}
			from := rn.from
			if old := listed[from]; old == nil || related(m.path, from) || !plainName(m.path) || !plainName(from) || !allPlain(rn.changed) {
				continue
			}
			if e.pendingAboveLocked(m.path) || e.pendingAboveLocked(from) {
				continue
			}
			out = append(out, seed{to: m.path, from: from, skip: append([]string(nil), rn.changed...)})
		}
	}
	return out
}

// pendingAboveLocked reports whether a parent of p has a change not yet on the
// destination: the receiver's parent could then be something else (a
// symlink, say) that rsync would follow.
func (e *Engine) pendingAboveLocked(p string) bool {
	for a := p; a != "."; {
		a = parent(a)
		if a != "." && e.q.pendingAt(a) {
			return true
		}
	}
	return false
}

// plainName keeps the pre-seed to names every rsync carries unchanged in
// a daemon argument: no control bytes, no wildcard or escape characters.
func plainName(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return !strings.ContainsAny(p, `*?[]\`)
}

// allPlain reports whether every name can go into an --exclude rule as
// it is: plain, and no spaces at either end.
func allPlain(names []string) bool {
	for _, n := range names {
		if !plainName(n) || strings.TrimSpace(n) != n {
			return false
		}
	}
	return true
}

// copyDestPath is from relative to the destination directory to: rsync
// resolves a relative --copy-dest against it.
func copyDestPath(to, from string) string {
	return strings.Repeat("../", strings.Count(to, "/")+1) + from
}

// seedArgs is the command line of one pre-seed run.
func seedArgs(cfg *Config, s seed) []string {
	a := rsyncArgs(cfg, modeSeed)
	n := len(a)
	out := append([]string{}, a[:n-2]...)
	for _, p := range s.skip {
		// Anchored at the transfer root, the renamed directory.
		out = append(out, "--exclude=/"+p)
	}
	return append(out, "--copy-dest="+copyDestPath(s.to, s.from), "/proc/self/fd/4/", cfg.Dest.RsyncArg()+s.to+"/")
}

// preseed runs the batch's pre-seeds. Failures are logged at debug level
// only: the batch's own runs ship everything regardless, and report a
// destination that is down. After a failure that is not about single
// files, the other pre-seeds are skipped: they would wait on it too.
func (e *Engine) preseed(ctx context.Context, b *batch) {
	e.mu.Lock()
	seeds := e.seedsLocked(b)
	e.mu.Unlock()
	for _, s := range seeds {
		if ctx.Err() != nil || !e.seedOne(ctx, s) {
			return
		}
	}
}

// seedOne runs one pre-seed; false means the destination itself failed.
func (e *Engine) seedOne(ctx context.Context, s seed) bool {
	src := int(e.cfg.Source.Fd())
	var st unix.Stat_t
	if err := unix.Fstatat(src, s.from, &st, unix.AT_SYMLINK_NOFOLLOW); !errors.Is(err, unix.ENOENT) {
		e.log.Debug("rename pre-seed skipped: the old path exists again", "path", s.to, "from", s.from)
		return true
	}
	fd, err := unix.Openat2(src, s.to, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
	})
	if err != nil {
		e.log.Debug("rename pre-seed skipped: cannot open the new directory", "path", s.to, "error", err)
		return true
	}
	dir := os.NewFile(uintptr(fd), s.to)
	defer dir.Close()
	res := execRsyncFd(ctx, &e.cfg, seedArgs(&e.cfg, s), nil, e.cfg.stallAfter(modeSeed), dir)
	e.mu.Lock()
	e.totals.BytesSent += res.bytesSent
	e.mu.Unlock()
	if res.code != 0 || res.startErr != nil {
		e.log.Debug("rename pre-seed failed; the batch ships the directory in full", "path", s.to, "from", s.from,
			"exit", res.code, "stderr", strings.TrimSpace(string(res.stderr)))
		return res.code == 23 || res.code == 24
	}
	e.log.Debug("rename pre-seeded from the destination's old copy", "path", s.to, "from", s.from,
		"literal_bytes", statNumber(res.stdout, "Literal data"), "bytes_sent", res.bytesSent)
	return true
}
