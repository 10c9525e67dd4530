package mirror

import "time"

// Release ships the held deletes at prefix and below ("" or ".": all of
// them) and reports how many paths it released. It queues them as the
// deletes they were; a path that exists in the source again is only
// un-held. The data directory is never touched.
func (e *Engine) Release(prefix string) int {
	if prefix == "." {
		prefix = ""
	}
	e.mu.Lock()
	var ps []string
	for _, p := range e.heldPathsLocked() {
		if prefix == "" || p == prefix || isBelow(p, prefix) {
			ps = append(ps, p)
		}
	}
	now := e.now()
	for _, p := range ps {
		dir := e.hold.paths[p]
		delete(e.hold.paths, p)
		if !dir {
			e.hold.files--
		}
		e.j.unhold(p)
		if e.exists(p) {
			continue
		}
		e.seq++
		e.j.add(e.seq, e.q.add(removed(p, dir), e.seq, now))
	}
	e.noteOverflowLocked()
	if !e.hold.on() {
		e.endHoldLocked()
	}
	left := e.hold.files
	e.broadcastLocked()
	e.mu.Unlock()
	if len(ps) > 0 {
		e.log.Info("held deletes released: they ship now", "paths", len(ps), "still_held", left)
	}
	e.poke()
	return len(ps)
}

// hold and unhold journal a held delete (recHold).
func (j *journal) hold(p string, dir bool, since time.Time, reason string) {
	j.append(&record{kind: recHold, path: p, recursive: dir, seq: unixMilli(since), msg: reason})
}

func unixMilli(t time.Time) uint64 {
	if t.IsZero() || t.UnixMilli() < 0 {
		return 0
	}
	return uint64(t.UnixMilli())
}

func (j *journal) unhold(p string) {
	j.append(&record{kind: recHold, path: p, attempts: 1})
}

// heldReplay is what the journal says is held.
type heldReplay struct {
	paths  map[string]bool
	since  time.Time
	reason string
}

func (h *heldReplay) apply(r *record) {
	if r.attempts != 0 {
		delete(h.paths, r.path)
		if len(h.paths) == 0 {
			h.since, h.reason = time.Time{}, ""
		}
		return
	}
	if h.paths == nil {
		h.paths = make(map[string]bool)
	}
	h.paths[r.path] = r.recursive
	if h.since.IsZero() && r.seq > 0 {
		h.since = time.UnixMilli(int64(r.seq))
	}
	if r.msg != "" {
		h.reason = r.msg
	}
}

// restoreHeld takes over the held deletes of an earlier run.
func (e *Engine) restoreHeld(h heldReplay) {
	if len(h.paths) == 0 {
		return
	}
	e.hold.paths = h.paths
	e.hold.files = 0
	for _, dir := range h.paths {
		if !dir {
			e.hold.files++
		}
	}
	e.hold.since, e.hold.reason = h.since, h.reason
	if e.hold.reason == "" {
		e.hold.reason = "held before a restart"
	}
	e.log.Warn("deletes held before the restart are still held; `mirrorfs release` ships them", "held", e.hold.files)
}

// appendHeldLocked adds the held deletes to a journal snapshot.
func (e *Engine) appendHeldLocked(b []byte) []byte {
	reason := e.hold.reason
	for _, p := range e.heldPathsLocked() {
		b = appendRecord(b, &record{kind: recHold, path: p, recursive: e.hold.paths[p], seq: unixMilli(e.hold.since), msg: reason})
		reason = ""
	}
	return b
}

// noteHeldAtClose says, at shutdown, what stays held and whether the
// next start still holds it.
func (e *Engine) noteHeldAtClose() {
	e.mu.Lock()
	n, journaled := e.hold.files, e.j != nil
	e.mu.Unlock()
	switch {
	case n == 0:
	case journaled:
		e.log.Warn("deletes still held at shutdown; the journal keeps them held at the next start (`mirrorfs release` ships them)", "held", n)
	default:
		e.log.Warn("deletes still held at shutdown, but without a journal (state-dir=none) the next start forgets them and its initial sync deletes those files from the destination", "held", n)
	}
}
