// Package audit cross-checks what mirrorfs's FUSE layer reports against
// what the kernel reports to inotify for the same mount (--inotify-audit).
// It watches the mount recursively with inotify and, path by path within a
// time window, counts changes that one side saw and the other did not.
//
// Both sides look at the mount: a write made to the backing directory
// behind the mount's back reaches neither, so the audit cannot detect it
// (the initial sync, `sync --full` and reconcile-interval do).
package audit

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// Options configure an Auditor.
type Options struct {
	Root string // the mountpoint
	// Window is how far apart the two sides' sightings of a path may be
	// and still match; default 2s.
	Window time.Duration
	// WriteInterval is how often the FUSE layer re-reports a file kept
	// open for writing; it widens the window for writes seen by IN_MODIFY.
	WriteInterval time.Duration
	Logger        *slog.Logger
}

// Status is the audit's part of `mirrorfs status`.
type Status struct {
	Enabled bool `json:"enabled"`
	// Ready: the initial watches are in place; changes before that are
	// not compared.
	Ready           bool      `json:"ready"`
	Watches         int       `json:"watches"`
	InotifyEvents   uint64    `json:"inotify_events"`
	FuseEvents      uint64    `json:"fuse_events"`
	MissedByFuse    uint64    `json:"missed_by_fuse"`
	MissedByInotify uint64    `json:"missed_by_inotify"`
	Overflows       uint64    `json:"overflows,omitempty"`
	Dropped         uint64    `json:"dropped,omitempty"` // FUSE reports not compared: the audit fell behind
	WatchErrors     uint64    `json:"watch_errors,omitempty"`
	Error           string    `json:"error,omitempty"`
	LastMismatch    *Mismatch `json:"last_mismatch,omitempty"`
	// ComparedUntil: every change seen before it has been compared.
	ComparedUntil *time.Time `json:"compared_until,omitempty"`
}

type fuseSeen struct {
	t time.Time
	c change.Change
}

// maxBuffered bounds FUSE reports waiting for the audit goroutine.
const maxBuffered = 1 << 16

// Auditor is one running audit.
type Auditor struct {
	opts Options
	log  *slog.Logger
	m    *matcher

	bufMu sync.Mutex
	buf   []fuseSeen

	fuseEvents, inotifyEvents, overflows, dropped, watchErrors atomic.Uint64
	watchCount                                                 atomic.Int64
	readyAt                                                    atomic.Pointer[time.Time]
	// inotifyHorizon: every inotify event generated before it was handled.
	inotifyHorizon atomic.Pointer[time.Time]
	idle           atomic.Bool // the reader waits in read(2): caught up
	comparedUntil  atomic.Pointer[time.Time]

	errMu sync.Mutex
	err   string

	cancel context.CancelFunc
	done   sync.WaitGroup
	file   *os.File
}

// New prepares an audit; Start begins it.
func New(opts Options) *Auditor {
	if opts.Window <= 0 {
		opts.Window = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Auditor{opts: opts, log: opts.Logger, m: newMatcher(opts.Window, opts.WriteInterval)}
}

// Report takes one FUSE change. It runs on the FUSE hot path: it only
// appends to a bounded buffer.
func (a *Auditor) Report(c change.Change) {
	if a.readyAt.Load() == nil || c.Orphan() { // inotify reports by name
		return
	}
	now := time.Now()
	a.bufMu.Lock()
	if len(a.buf) < maxBuffered {
		a.buf = append(a.buf, fuseSeen{now, c})
		a.bufMu.Unlock()
		return
	}
	a.bufMu.Unlock()
	a.dropped.Add(1)
}

var _ change.Reporter = (*Auditor)(nil)

// Start opens inotify and watches the mount from a goroutine of its own:
// adding watches stats and reads the mount, which must never happen on a
// FUSE request goroutine. Start returns at once; Status says when the
// initial watches are in place.
func (a *Auditor) Start(ctx context.Context) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		a.setErr("inotify_init1: " + err.Error())
		return errors.Join(errors.New("inotify audit: cannot create an inotify instance (raise fs.inotify.max_user_instances)"), err)
	}
	// Non-blocking: os.File reads through the runtime poller, and Close
	// wakes a pending Read.
	a.file = os.NewFile(uintptr(fd), "inotify")
	ctx, a.cancel = context.WithCancel(ctx)
	w := newWatcher(a, fd)
	a.done.Add(2)
	go func() { defer a.done.Done(); w.run(ctx) }()
	go func() { defer a.done.Done(); a.sweepLoop(ctx) }()
	return nil
}

// Stop ends the audit. Call it before unmounting.
func (a *Auditor) Stop() {
	if a.cancel == nil {
		return
	}
	a.cancel()
	a.file.Close()
	a.done.Wait()
	a.cancel = nil
}

func (a *Auditor) setErr(s string) {
	a.errMu.Lock()
	a.err = s
	a.errMu.Unlock()
}

// Status is a snapshot of the counters.
func (a *Auditor) Status() Status {
	byFUSE, byInotify, last := a.m.counts()
	a.errMu.Lock()
	err := a.err
	a.errMu.Unlock()
	return Status{
		Enabled:         true,
		Ready:           a.readyAt.Load() != nil,
		Watches:         int(a.watchCount.Load()),
		InotifyEvents:   a.inotifyEvents.Load(),
		FuseEvents:      a.fuseEvents.Load(),
		MissedByFuse:    byFUSE,
		MissedByInotify: byInotify,
		Overflows:       a.overflows.Load(),
		Dropped:         a.dropped.Load(),
		WatchErrors:     a.watchErrors.Load(),
		Error:           err,
		LastMismatch:    last,
		ComparedUntil:   a.comparedUntil.Load(),
	}
}

func (a *Auditor) sweepLoop(ctx context.Context) {
	tick := time.NewTicker(a.opts.Window / 4)
	defer tick.Stop()
	lim := logLimiter{every: 10 * time.Second}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			a.drain()
			h := now
			if !a.idle.Load() {
				if p := a.inotifyHorizon.Load(); p != nil {
					h = *p
				}
			}
			a.m.sweep([2]time.Time{sideFUSE: now, sideInotify: h})
			if ready := a.readyAt.Load(); ready != nil {
				cu := h.Add(-a.opts.Window)
				if cu.After(*ready) {
					a.comparedUntil.Store(&cu)
				}
			}
			for _, mis := range a.m.take() {
				lim.log(a.log, now, mis)
			}
		}
	}
}

// drain moves buffered FUSE reports into the matcher.
func (a *Auditor) drain() {
	a.bufMu.Lock()
	batch := a.buf
	a.buf = make([]fuseSeen, 0, min(cap(batch), 1024))
	a.bufMu.Unlock()
	for _, f := range batch {
		a.fuseEvents.Add(1)
		for _, p := range fusePaths(f.c) {
			a.m.see(sideFUSE, p, f.t, f.c.Op.String())
		}
	}
}

// fusePaths are the names a FUSE change makes inotify report on the mount:
// those change.Change.Kinds gives kinds for.
func fusePaths(c change.Change) []string {
	if _, from := c.Kinds(); from != 0 && c.From != "" {
		return []string{c.From, c.Path}
	}
	return []string{c.Path}
}

// logLimiter logs the first mismatch, then at most one line per interval
// with the number it held back.
type logLimiter struct {
	every      time.Duration
	last       time.Time
	suppressed int
}

func (l *logLimiter) log(log *slog.Logger, now time.Time, m Mismatch) {
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		return
	}
	other := "inotify"
	if m.SeenBy == "inotify" {
		other = "the FUSE layer"
	}
	log.Warn("inotify audit: a change was seen by "+m.SeenBy+" but not by "+other,
		"path", m.Path, "events", m.Events, "at", m.Time.Format(time.RFC3339Nano), "suppressed", l.suppressed)
	l.last, l.suppressed = now, 0
}
