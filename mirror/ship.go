package mirror

import (
	"context"
	"slices"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// The shipping part: one batch, its rsync runs in order, and how each
// run's result settles its entries.

// ship runs a batch's rsync invocations and settles every entry.
func (e *Engine) ship(ctx context.Context, b *batch) {
	if !e.holdUnindexed(b) {
		return
	}
	b.runs = separateLinked(b.runs, e.linkPlan(), e.linksBelow)
	e.mu.Lock()
	for i := range b.runs {
		for p := range b.runs[i].pulled {
			e.q.shipping(p)
		}
	}
	e.mu.Unlock()
	rootFailed := false
	hasRoot := len(b.runs) > 0 && b.runs[len(b.runs)-1].root
	e.mu.Lock()
	e.state = StateShipping
	e.totals.Batches++
	batchNo, sent := e.totals.Batches, int64(0)
	b.stamp = e.stampLocked(e.totals.Batches)
	e.rootRun = hasRoot
	e.mu.Unlock()
	defer e.flushEvents() // runs last: after the root's requeue below
	// Renamed directories are pre-seeded from their old copy before any
	// run of the batch (reuse.go); the runs below then ship as always.
	e.preseed(ctx, b)
	if hasRoot {
		// The root run settles no entry of its own, so Sync must be told to
		// wait for it. If it fails, the root is queued again; if an earlier
		// run failed, the requeued top-level entries bring it back anyway.
		defer func() {
			e.mu.Lock()
			e.rootRun = false
			if rootFailed {
				e.seq++
				e.q.add(change.Change{Op: change.OpSetattr, Path: "."}, e.seq, e.now())
			}
			e.broadcastLocked()
			e.mu.Unlock()
		}()
	}

	for i := range b.runs {
		r := &b.runs[i]
		mode := modeList
		switch {
		case r.root:
			mode = modeRoot
		case r.recursive:
			mode = modeListRecursive
		case r.inplace:
			mode = modeListInplace
		case r.allNew():
			mode = modeListNew
		}
		e.log.Debug("rsync run", "recursive", r.recursive, "paths", len(r.list), "first", r.list[0])
		res := execRsyncOut(ctx, &e.cfg, e.argsFor(mode, b.stamp), listInput(r.list), e.cfg.stallAfter(mode), nil, e.trackRun(mode))
		rerr := e.resultError(res)
		var moved []*entry
		if mode == modeListInplace && (rerr == nil || rerr.Class == ClassPartial) {
			moved = movedDuringRun(r, e.statLinked)
			// Outside the lock that Add needs: one fstatat per moved name.
			moved = slices.DeleteFunc(moved, func(en *entry) bool { return !e.exists(en.path) })
		}

		e.mu.Lock()
		e.runProg = nil
		rootFailed = r.root && rerr != nil
		e.totals.BytesSent += res.bytesSent
		sent += res.bytesSent
		members := b.members(r)
		whole := false
		switch {
		case rerr == nil:
			e.settleLocked(members, nil, b)
			e.succeededLocked()
		case rerr.Class == ClassPartial:
			e.succeededLocked()
			e.partialLocked(b, r, members, res, rerr)
		default:
			whole = true
			var rest []*entry
			for _, rr := range b.runs[i:] {
				rest = append(rest, b.members(&rr)...)
			}
			// Halves still to run go back too: the destination is the problem.
			for _, sb := range e.splits {
				rest = append(rest, sb.all...)
			}
			e.splits = nil
			for _, m := range rest {
				e.q.requeue(m, nil)
			}
			if rerr.Class != ClassCancelled {
				e.totals.Retries++
				e.failedLocked(rerr)
				e.queueEventLocked(Event{Kind: EventError, Batch: batchNo, Count: len(rest), Error: rerr.Msg})
			}
			e.closeFailedBatchLocked(batchNo, sent)
		}
		e.relinkLocked(moved)
		if !whole && i == len(b.runs)-1 {
			// Before the broadcast: a barrier this batch meets comes after it.
			e.queueBatchLocked(batchNo, sent)
		}
		e.broadcastLocked()
		e.mu.Unlock()
		e.emitShipped()
		if whole {
			return
		}
	}
}

// settleLocked retires shipped entries and requeues failed ones.
func (e *Engine) settleLocked(shipped []*entry, failedMsg map[*entry]string, b *batch) {
	epoch := b.epoch
	for _, m := range shipped {
		if _, bad := failedMsg[m]; bad {
			continue
		}
		if m.attempts > 0 {
			e.log.Info("path mirrored after earlier failures", "path", m.path, "attempts", m.attempts)
		}
		e.q.done(m)
		e.j.ack(m.path, b.seq, m.recursive)
		e.totals.ShippedPaths++
		e.noteShippedLocked(m, "")
		e.noteBatchPathLocked(m.path)
	}
	now := e.now()
	logged := 0
	for m, msg := range failedMsg {
		if m.attempts == 0 {
			e.noteStuckLocked(m.path, msg)
			// Logged once per path, and only a few per batch: this runs
			// under the lock Add needs.
			if logged++; logged <= maxFailLogs {
				e.log.Warn("path could not be mirrored; it stays queued and is retried", "path", m.path, "error", msg)
			}
		}
		e.q.requeue(m, &failure{msg: msg, now: now, epoch: epoch, retryAt: now.Add(e.cfg.backoff(m.attempts + 1))})
		e.noteShippedLocked(m, msg)
		e.j.fail(m.path, m.attempts, msg)
	}
	if logged > maxFailLogs {
		e.log.Warn("more paths could not be mirrored; see mirrorfs status", "count", logged-maxFailLogs)
	}
}

// partialLocked handles a run in which some paths failed (exit 23/24, or
// killed while it hung opening one): blame the paths rsync named, retry
// the rest, or narrow the run down when a failure names no path.
func (e *Engine) partialLocked(b *batch, r *run, members []*entry, res result, rerr *RsyncError) {
	if res.blocked != "" {
		e.blockedLocked(b, r, members, res)
		return
	}
	probs, other := pathProblems(res.stderr, sourceArg, e.cfg.Dest)
	failed := make(map[*entry]string)
	unattributed := len(other) > 0
	for _, p := range probs {
		var hits []*entry
		for _, c := range p.candidates {
			if hits = attribute(c, r); len(hits) > 0 {
				break
			}
		}
		if p.vanished {
			// Deleted under rsync: the deletion is (or will be) queued.
			continue
		}
		if p.overflow {
			// rsync shipped the rest; the long name is reported, not retried.
			e.noteLongLocked(p.candidates[0])
			continue
		}
		if len(hits) == 0 {
			unattributed = true
			continue
		}
		for _, h := range hits {
			if _, ok := failed[h]; !ok {
				failed[h] = afterRsyncPrefix(p.line)
			}
		}
	}
	if unattributed && res.code == 23 {
		if len(r.entries) > 1 {
			e.log.Debug("rsync failure not attributable to a path: splitting the batch", "entries", len(r.entries), "detail", rerr.Detail)
			h1, h2 := split(members)
			for _, h := range [][]*entry{h2, h1} {
				if len(h) > 0 {
					nb := &batch{all: h, epoch: b.epoch, seq: b.seq}
					nb.runs = planBatch(h)
					e.splits = append([]*batch{nb}, e.splits...)
				}
			}
			return
		}
		if len(r.entries) == 1 {
			if _, ok := failed[r.entries[0]]; !ok {
				failed[r.entries[0]] = rerr.Detail
			}
		}
	}
	failLinked(r, failed)
	// Covered entries share their recursive ancestor's fate.
	for _, m := range members {
		if m.coveredBy != nil {
			if msg, ok := failed[m.coveredBy]; ok {
				failed[m] = msg
			}
		}
	}
	e.settleLocked(members, failed, b)
}

// blockedLocked settles a run killed while rsync hung opening one path
// (a file that became a FIFO or device under it): that path fails on its
// own; the others were not all sent, so they go back unblamed.
func (e *Engine) blockedLocked(b *batch, r *run, members []*entry, res result) {
	failed := make(map[*entry]string)
	for _, h := range attribute(res.blocked, r) {
		failed[h] = blockedMsg
	}
	failLinked(r, failed)
	for _, m := range members {
		if m.coveredBy != nil {
			if msg, ok := failed[m.coveredBy]; ok {
				failed[m] = msg
			}
		}
	}
	if len(failed) == 0 {
		// Not one of ours: retry the whole run.
		for _, m := range members {
			e.q.requeue(m, nil)
		}
		return
	}
	var fine []*entry
	for _, m := range members {
		if _, bad := failed[m]; !bad {
			fine = append(fine, m)
		}
	}
	e.settleLocked(nil, failed, b)
	for _, m := range fine {
		e.q.requeue(m, nil)
	}
	e.log.Warn("rsync hung opening a path that changed type under it; that path is retried on its own, the others of its run at once",
		"path", res.blocked, "others", len(fine))
}

// linkPlan gives the planner the source and the link index.
func (e *Engine) linkPlan() linkPlan {
	return linkPlan{stat: e.statLinked, others: e.linkedNames}
}

// linkedNames returns the names of id in the index that still are names
// of id in the source.
func (e *Engine) linkedNames(id fileID) []string {
	e.mu.Lock()
	names := slices.Clone(e.links.names(id))
	e.mu.Unlock()
	out := names[:0]
	x := e.cfg.Exclude
	for _, p := range names {
		if x != nil && x.Match(p, false) {
			continue
		}
		if got, _, _, ok := e.statLinked(p); ok && got == id {
			out = append(out, p)
		}
	}
	return out
}

// linksBelow returns the index's names inside dir.
func (e *Engine) linksBelow(dir string) []linkName {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.links.below(dir)
}
