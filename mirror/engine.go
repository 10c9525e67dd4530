package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Engine ships changed paths to the destination in batches.
type Engine struct {
	cfg Config
	log *slog.Logger
	// rootRun: a batch's run for the root's own attributes is under way.
	rootRun bool
	now     func() time.Time

	// runner is held by whoever drives the scheduler (Run, or a Sync or
	// Flush when nothing else does): one rsync at a time keeps order.
	runner chan struct{}
	wake   chan struct{}

	mu      sync.Mutex
	q       *queue
	seq     uint64
	changed chan struct{} // closed and replaced on every state change
	x       extras        // exclude filter and shipped hook (exclude.go, shipped.go)

	state     string
	splits    []*batch // halves of a batch being narrowed down, already in flight
	epoch     uint64   // bumped by every Sync
	waiters   int
	urgentSeq uint64

	initial     InitialState
	lastSuccess time.Time
	lastErr     *RsyncError
	lastErrTime time.Time
	failures    int // consecutive whole-batch failures
	nextRetry   time.Time
	loggedErr   string
	versionDone bool
	totals      Totals

	j         *journal // nil without a state directory
	recovery  RecoveryStatus
	replaySeq uint64 // entries up to here came from the journal
	full      fullState
	over      overflowState
}

// New checks the configuration and returns an idle engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Source == nil {
		return nil, errors.New("mirror: no source directory given")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:     cfg,
		log:     cfg.Logger,
		now:     time.Now,
		runner:  make(chan struct{}, 1),
		wake:    make(chan struct{}, 1),
		q:       newQueue(),
		changed: make(chan struct{}),
		state:   StateIdle,
	}
	e.q.limit = cfg.MaxPending
	e.initial.Enabled = cfg.InitialSync
	if cfg.InitialSync {
		e.state = StateInitialSync
	}
	if cfg.ReconcileInterval > 0 {
		e.full.nextAt = e.now().Add(cfg.ReconcileInterval)
	}
	if err := e.openJournal(); err != nil {
		return nil, err
	}
	return e, nil
}

const maxFailLogs = 10

// Add queues one change. It is called from filesystem handlers: it takes
// one mutex, does O(log n) work and never waits for rsync.
func (e *Engine) Add(ev Event) {
	if ev.Path == "" {
		ev.Path = "."
	}
	if e.cfg.Exclude != nil && e.addExcluding(ev) {
		return
	}
	now := e.now()
	e.mu.Lock()
	e.seq++
	seq := e.seq
	e.totals.Events++
	e.q.add(ev, seq, now)
	owe := e.noteOverflow()
	e.mu.Unlock()
	// After the queue: a compaction in between sees the change in the
	// queue and gets this record too, which is harmless.
	e.j.add(seq, ev)
	if owe != 0 {
		e.j.owe(owe)
	}
	e.poke()
}

func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// broadcast wakes Sync and Flush waiters; e.mu must be held.
func (e *Engine) broadcast() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// Run schedules batches until ctx is done. Cancelling ctx kills a running
// rsync; its batch stays queued for Flush or the next Run.
func (e *Engine) Run(ctx context.Context) error {
	select {
	case e.runner <- struct{}{}:
	case <-ctx.Done():
		return nil
	}
	defer e.release()
	e.detectVersion(ctx)
	e.drive(ctx, nil)
	return nil
}

func (e *Engine) release() {
	<-e.runner
	e.mu.Lock()
	e.broadcast()
	e.mu.Unlock()
}

// detectVersion enables the options the installed rsync supports; it runs
// once, before the first transfer.
func (e *Engine) detectVersion(ctx context.Context) {
	e.mu.Lock()
	done := e.versionDone
	e.mu.Unlock()
	if done {
		return
	}
	v, err := RsyncVersion(ctx, e.cfg.RsyncPath)
	if ctx.Err() != nil {
		return // try again next time
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.versionDone = true
	if err != nil {
		e.log.Warn("cannot use rsync as configured", "error", err)
		return
	}
	e.cfg.exactTimes = !v.Less(Version{Major: 3, Minor: 2})
	e.cfg.mkpath = !v.Less(Version{Major: 3, Minor: 2, Patch: 3})
	e.log.Debug("rsync version", "version", v.String(), "exact_times", e.cfg.exactTimes, "mkpath", e.cfg.mkpath)
}

// drive is the scheduler loop; it returns when ctx ends or until() holds.
func (e *Engine) drive(ctx context.Context, until func() bool) {
	for ctx.Err() == nil {
		e.mu.Lock()
		e.logLong()
		if until != nil && until() {
			e.mu.Unlock()
			return
		}
		now := e.now()
		var wait time.Duration = -1
		switch {
		case e.fullDue(now):
			if now.Before(e.nextRetry) {
				wait = e.nextRetry.Sub(now)
				break
			}
			e.mu.Unlock()
			e.fullSync(ctx)
			continue
		case len(e.splits) > 0:
			b := e.splits[0]
			e.splits = e.splits[1:]
			e.mu.Unlock()
			e.ship(ctx, b)
			continue
		case now.Before(e.nextRetry):
			wait = e.nextRetry.Sub(now)
		default:
			p := e.pick()
			if items := e.q.take(now, p); len(items) > 0 {
				b := &batch{all: items, epoch: e.epoch, seq: e.seq}
				b.runs = planBatch(items)
				e.mu.Unlock()
				e.ship(ctx, b)
				continue
			}
			if t, ok := e.q.nextReady(p); ok {
				wait = max(t.Sub(now), time.Millisecond)
			}
			if t := e.full.nextAt; !t.IsZero() && (wait < 0 || t.Sub(now) < wait) {
				wait = max(t.Sub(now), time.Millisecond)
			}
		}
		if e.state != StateRetrying {
			e.state = StateIdle
		}
		e.mu.Unlock()
		e.sleep(ctx, wait)
	}
}

func (e *Engine) pick() pick {
	return pick{
		delay: e.cfg.Delay, maxDelay: e.cfg.MaxDelay, max: e.cfg.MaxBatch,
		urgent: e.waiters > 0, urgentSeq: e.urgentSeq, epoch: e.epoch,
	}
}

func (e *Engine) sleep(ctx context.Context, d time.Duration) {
	var tc <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-ctx.Done():
	case <-e.wake:
	case <-tc:
	}
}

// logLong reports newly seen over-long paths once; e.mu is held.
func (e *Engine) logLong() {
	for _, p := range e.q.newLong {
		e.log.Warn("path not mirrored: longer than rsync's 4096-byte limit", "source", e.cfg.SourceName, "path_prefix", p[:min(len(p), 64)], "length", len(p))
	}
	e.q.newLong = nil
}

// resultError classifies a finished process; nil means success.
func (e *Engine) resultError(r result) *RsyncError {
	if r.stalled > 0 {
		return &RsyncError{Code: -1, Class: ClassTimeout, Detail: "no progress for " + r.stalled.String(),
			Msg: fmt.Sprintf("rsync to %s made no progress for %s and was killed (both ends waiting on each other, or the destination hung): retrying", e.cfg.Dest, r.stalled)}
	}
	if r.startErr != nil {
		return &RsyncError{Code: -2, Class: ClassOther, Msg: fmt.Sprintf("cannot run %s: %v; check --rsync and that rsync 3.1.0 or newer is installed; retrying", e.cfg.RsyncPath, r.startErr)}
	}
	return classify(r.code, r.stderr, e.cfg.Dest, &e.cfg)
}

// succeeded records a run that reached the destination; e.mu is held.
func (e *Engine) succeeded() {
	if e.failures > 0 {
		e.log.Info("destination reachable again", "dest", e.cfg.Dest.String(), "after_failures", e.failures)
	}
	e.failures = 0
	e.nextRetry = time.Time{}
	e.loggedErr = ""
	e.lastSuccess = e.now()
	if e.state == StateRetrying {
		e.state = StateIdle
	}
}

// failed records a whole-run failure and schedules the retry; e.mu is held.
func (e *Engine) failed(rerr *RsyncError) {
	e.failures++
	e.totals.Failures++
	e.lastErr = rerr
	e.lastErrTime = e.now()
	wait := e.cfg.backoff(e.failures)
	e.nextRetry = e.lastErrTime.Add(wait)
	e.state = StateRetrying
	if rerr.Msg != e.loggedErr {
		e.log.Warn(rerr.Msg, "dest", e.cfg.Dest.String(), "class", rerr.Class.String(), "exit", rerr.Code, "detail", rerr.Detail)
		e.loggedErr = rerr.Msg
	} else {
		e.log.Debug("rsync still failing", "class", rerr.Class.String(), "attempt", e.failures, "next_retry_in", wait)
	}
}

// ship runs a batch's rsync invocations and settles every entry.
func (e *Engine) ship(ctx context.Context, b *batch) {
	b.runs = separateLinked(b.runs, e.statLinked)
	rootFailed := false
	hasRoot := len(b.runs) > 0 && b.runs[len(b.runs)-1].root
	e.mu.Lock()
	e.state = StateShipping
	e.totals.Batches++
	e.rootRun = hasRoot
	e.mu.Unlock()
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
				e.q.add(Event{Op: OpAttrib, Path: "."}, e.seq, e.now())
			}
			e.broadcast()
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
		}
		e.log.Debug("rsync run", "recursive", r.recursive, "paths", len(r.list), "first", r.list[0])
		res := execRsync(ctx, &e.cfg, rsyncArgs(&e.cfg, mode), listInput(r.list), e.cfg.stallAfter(mode))
		rerr := e.resultError(res)
		gap, why := r.linkGap, linkWhyList
		if r.recursive && (rerr == nil || rerr.Class == ClassPartial) {
			gap, why = e.linkGapBelow(r), linkWhyTree
		}

		e.mu.Lock()
		rootFailed = r.root && rerr != nil
		e.totals.BytesSent += res.bytesSent
		members := b.members(r)
		if gap != "" && (rerr == nil || rerr.Class == ClassPartial) {
			e.needLinkRepair(gap, why, members)
		}
		whole := false
		switch {
		case rerr == nil:
			e.settle(members, nil, b)
			e.succeeded()
		case rerr.Class == ClassPartial:
			e.succeeded()
			e.partial(b, r, members, res, rerr)
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
				e.failed(rerr)
			}
		}
		e.broadcast()
		e.mu.Unlock()
		e.emitShipped()
		if whole {
			return
		}
	}
}

// settle retires shipped entries and requeues failed ones; e.mu is held.
func (e *Engine) settle(shipped []*entry, failedMsg map[*entry]string, b *batch) {
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
		e.noteShipped(m, "")
	}
	now := e.now()
	logged := 0
	for m, msg := range failedMsg {
		if m.attempts == 0 {
			// Logged once per path, and only a few per batch: this runs
			// under the lock Add needs.
			if logged++; logged <= maxFailLogs {
				e.log.Warn("path could not be mirrored; it stays queued and is retried", "path", m.path, "error", msg)
			}
		}
		e.q.requeue(m, &failure{msg: msg, now: now, epoch: epoch, retryAt: now.Add(e.cfg.backoff(m.attempts + 1))})
		e.noteShipped(m, msg)
		e.j.fail(m.path, m.attempts, msg)
	}
	if logged > maxFailLogs {
		e.log.Warn("more paths could not be mirrored; see mirrorfs status", "count", logged-maxFailLogs)
	}
}

// partial handles exit 23/24: blame the named paths, or narrow the run down.
func (e *Engine) partial(b *batch, r *run, members []*entry, res result, rerr *RsyncError) {
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
			e.noteLong(p.candidates[0])
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
	e.failLinked(r, probs, failed)
	// Covered entries share their recursive ancestor's fate.
	for _, m := range members {
		if m.coveredBy != nil {
			if msg, ok := failed[m.coveredBy]; ok {
				failed[m] = msg
			}
		}
	}
	e.settle(members, failed, b)
}

// noteLong records an over-long path rsync found inside a directory; it is
// reported by every later barrier (seq 0). e.mu is held.
func (e *Engine) noteLong(p string) {
	if _, ok := e.q.long[p]; !ok {
		e.q.long[p] = &longPath{path: p, since: e.now()}
		e.q.newLong = append(e.q.newLong, p)
	}
}
