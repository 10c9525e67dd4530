package mirror

import (
	"sort"
)

// How the engine started, as `status` reports it.
const (
	StartNoJournal = "no-journal" // state-dir=none
	StartFresh     = "fresh"      // no journal from an earlier run
	StartClean     = "clean"      // the previous run stopped in order
	StartUnclean   = "recovered"  // the previous run crashed: journal replayed, full reconcile follows
)

// RecoveryStatus says what the engine found at start.
type RecoveryStatus struct {
	Start     string `json:"start"`
	Replayed  int    `json:"replayed"`            // pending changes taken over from the journal
	Reconcile string `json:"reconcile,omitempty"` // after an unclean stop: waiting, running, done
}

// openJournal sets up the journal in cfg.StateDir and takes over what it
// holds; e.mu is not needed: nothing runs yet.
func (e *Engine) openJournal() error {
	if e.cfg.StateDir == "" {
		e.recovery.Start = StartNoJournal
		return nil
	}
	j, rep, err := openJournal(e.cfg.StateDir, e.log)
	if err != nil {
		return err
	}
	e.restore(rep)
	switch {
	case !rep.existed:
		e.recovery.Start = StartFresh
	case rep.clean:
		e.recovery.Start = StartClean
	default:
		e.recovery.Start = StartUnclean
		e.debts.owe(ReasonUnclean, 0, e.seq, e.now())
	}
	if err := j.start(e.journalSnapshot); err != nil {
		// The old journal is as it was, for the next start to replay; no
		// writer runs, so close only releases the lock.
		j.close(false)
		return err
	}
	e.j = j
	if rep.existed {
		e.log.Info("journal replayed", "start", e.recovery.Start, "pending", e.recovery.Replayed, "dir", e.cfg.StateDir)
	}
	return nil
}

// restore queues the journal's pending paths, ready to ship at once. They
// are never "born": the destination may have seen them.
func (e *Engine) restore(rep *replayed) {
	paths := make([]string, 0, len(rep.paths))
	for p := range rep.paths {
		paths = append(paths, p)
	}
	sort.Strings(paths) // parents first: a recursive parent covers its subtree
	now := e.now()
	ready := now.Add(-e.cfg.MaxDelay)
	for _, p := range paths {
		pp := rep.paths[p]
		e.seq++
		en := e.q.touch(p, 0, e.seq, ready, pp.recursive, false)
		if en == nil {
			continue
		}
		en.ops |= pp.ops
		if pp.attempts > 0 && en.path == p {
			en.attempts = pp.attempts
			en.fail = &pathFail{lastErr: pp.msg, errSince: now}
		}
	}
	e.q.takeNewLong() // logged by the run that first saw them
	e.recovery.Replayed = len(paths)
	e.replaySeq = e.seq
	// Full syncs an earlier run owed and did not pay are owed still; they
	// stand for changes no entry holds, so barriers wait for them.
	for why := range rep.owed {
		e.debts.owe(why, 0, e.seq, now)
	}
	e.restoreHeld(rep.held)
}

// journalSnapshot encodes the pending set, in the tree and in flight, as a
// fresh log; records buffered so far are part of it and are dropped.
func (e *Engine) journalSnapshot() []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b []byte
	b = appendRecord(b, &record{kind: recHeader})
	put := func(en *entry) {
		b = appendRecord(b, &record{kind: recAdd, seq: en.seq, recursive: en.recursive, path: en.path})
		if en.attempts > 0 {
			b = appendRecord(b, &record{kind: recFail, path: en.path, attempts: en.attempts, msg: en.lastErr()})
		}
	}
	for _, d := range e.debts.all() {
		b = appendRecord(b, &record{kind: recOwed, seq: d.seq, msg: d.reason.String()})
	}
	b = e.appendHeldLocked(b)
	e.q.each(func(en *entry) bool { put(en); return true })
	e.q.eachLong(func(l *longPath) {
		b = appendRecord(b, &record{kind: recAdd, seq: l.seq, path: l.path})
	})
	if e.j != nil {
		e.j.mu.Lock()
		e.j.buf = e.j.buf[:0]
		e.j.mu.Unlock()
	}
	return b
}

// replayPendingLocked reports whether replayed entries still wait for
// their first batch; full syncs wait for them, so recovery takes seconds,
// not a tree walk.
func (e *Engine) replayPendingLocked() bool {
	if e.replaySeq == 0 {
		return false
	}
	if e.q.waitsSince(e.replaySeq) || len(e.splits) > 0 {
		return true
	}
	e.replaySeq = 0
	return false
}

// Close stops the journal, marking an orderly stop. Call it after Flush,
// once Run has returned.
func (e *Engine) Close() error {
	e.noteHeldAtClose()
	if e.j == nil {
		return nil
	}
	return e.j.close(true)
}
