package mirror

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// Engine ships changed paths to the destination in batches. Its parts
// are described in doc.go. Fields below mu are reached only with mu held;
// so are the methods whose names end in Locked.
type Engine struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	// runner is held by whoever drives the scheduler (Run, or a Sync or
	// Flush when nothing else does): one rsync at a time keeps order.
	runner chan struct{}
	wake   chan struct{}

	mu      sync.Mutex
	q       *queue
	seq     uint64
	changed chan struct{} // closed and replaced on every state change
	x       extras        // exclude filter and shipped hook (exclude.go, shipped.go)
	links   *linkIndex    // every name of multi-linked inodes (linkindex.go)
	walk    linkWalk      // how far the index knows names from before the mount (linkwalk.go)
	debts   debts         // full syncs owed (debt.go)
	full    fullState
	over    overflowState
	vf      verifyState  // verify runs and their last result (verify.go)
	runProg *fullTracker // the running shipping run's progress (progress.go)

	state       string
	rootRun     bool     // a batch's run for the root's own attributes is under way
	splits      []*batch // halves of a batch being narrowed down, already in flight
	epoch       uint64   // bumped by every Sync
	waiters     int
	urgentSeq   uint64 // entries up to here skip their debounce for a waiting Sync
	flushing    bool   // shutting down: Flush ships the queue, and no full sync starts...
	payBlocking bool   // ...but those Flush pays once the queue is on the destination

	initial     InitialState
	health      health
	versionDone bool
	totals      Totals
	hold        holdState    // held mass deletes (hold.go)
	vers        versionState // version pruning (versions_prune.go)

	j         *journal // nil without a state directory
	recovery  RecoveryStatus
	replaySeq uint64 // entries up to here came from the journal
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
		links:   newLinkIndex(),
		changed: make(chan struct{}),
		state:   StateIdle,
	}
	e.cfg.guard = e.guardArgs
	e.q.limit = cfg.MaxPending
	if cfg.LeadingEdge {
		e.q.quiet = cfg.Delay
	}
	e.initial.Enabled = cfg.InitialSync
	if cfg.InitialSync {
		e.state = StateInitialSync
		e.debts.owe(ReasonInitial, 0, 0, e.now())
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
// one mutex, does O(log n) work and never waits for rsync. A hard link
// costs one fstatat more, to learn its inode.
func (e *Engine) Add(c change.Change) {
	if c.Orphan() {
		e.addOrphan(c)
		return
	}
	if c.Path == "" {
		c.Path = "."
	}
	var id fileID
	linked := false
	if c.Op == change.OpLink {
		id, _, _, linked = e.statLinked(c.Path)
	}
	if e.cfg.Exclude != nil && e.addExcluding(c) {
		return
	}
	now := e.now()
	e.mu.Lock()
	e.seq++
	seq := e.seq
	e.totals.Events++
	heirs := e.linkHeirsLocked(c)
	e.pinLeavingLocked(c)
	e.indexLocked(c, id, linked)
	e.vf.noteLocked(c)
	if took, started := e.holdAddLocked(c, now); took {
		inherited := e.inheritLocked(heirs, seq, now)
		e.mu.Unlock()
		e.journalMarks(seq, inherited)
		if started {
			e.announceHold()
		}
		return
	}
	ms := e.q.add(c, seq, now)
	inherited := e.inheritLocked(heirs, seq, now)
	e.noteOverflowLocked()
	e.mu.Unlock()
	// After the queue: a compaction in between sees the change in the
	// queue and gets this record too, which is harmless.
	e.j.add(seq, ms)
	e.journalMarks(seq, inherited)
	e.poke()
}

// journalMarks records marks that are not one change's pair.
func (e *Engine) journalMarks(seq uint64, ms []mark) {
	for _, m := range ms {
		e.j.add(seq, [2]mark{m})
	}
}

func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// broadcastLocked wakes Sync and Flush waiters.
func (e *Engine) broadcastLocked() {
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
	stop := e.prepare(ctx)
	defer stop()
	defer e.startVerifyLoop(ctx)()
	e.drive(ctx, nil)
	return nil
}

func (e *Engine) release() {
	<-e.runner
	e.mu.Lock()
	e.broadcastLocked()
	e.mu.Unlock()
}

// prepare does what the first transfer needs, once: the rsync version's
// options and the names of linked files from before the mount. stop ends
// what it left running.
func (e *Engine) prepare(ctx context.Context) (stop func()) {
	e.detectVersion(ctx)
	return e.startWalk(ctx)
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
