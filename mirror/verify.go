package mirror

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// VerifyResult is what one verify found: every path that is not equal on
// the destination, except those the engine knew to be on their way.
type VerifyResult struct {
	Dest     string    `json:"dest"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Differences lists at most maxVerifyListed of them; Count has all.
	Differences []Difference `json:"differences"`
	Count       int          `json:"count"`
	// Skipped differing paths were pending, or changed while verify ran:
	// rsync may have compared them mid-change, so they are not judged.
	// They ship as any change does.
	Skipped      []string `json:"skipped,omitempty"`
	SkippedCount int      `json:"skipped_count"`
	Note         string   `json:"note,omitempty"` // why paths were skipped
	// Error: the comparison did not cover everything (some paths could not
	// be read), or failed.
	Error string `json:"error,omitempty"`
}

// Equal reports whether verify found no difference.
func (r VerifyResult) Equal() bool { return r.Count == 0 }

const (
	maxVerifyListed = 100_000 // differences a result lists; past it Repair runs a full sync
	maxVerifyTouch  = 200_000 // paths verifyState follows; past it every difference is skipped
)

// Verify compares the source and the destination by content: one rsync
// checksum dry run of the whole tree, with the mirror's own attribute
// options, excludes and version directory left out. It reads the whole
// tree. It does not hold up shipping, which goes on meanwhile; paths
// pending or changed during the run are skipped (VerifyResult.Skipped).
// A second call waits for the running one to end, then runs its own.
func (e *Engine) Verify(ctx context.Context) (VerifyResult, error) {
	cfg, fullCount, err := e.beginVerify(ctx)
	if err != nil {
		return VerifyResult{Dest: e.cfg.DestName()}, err
	}
	res := VerifyResult{Dest: cfg.DestName(), Started: e.now()}
	var diffs []Difference
	unlisted := 0 // past what can be listed or skipped: counted only
	sink := &lineSink{claim: func(l []byte) bool {
		d, ok := parseItem(l)
		switch {
		case !ok || cfg.Exclude.Match(d.Path, d.Dir):
		case len(diffs) < maxVerifyListed+maxVerifyTouch:
			diffs = append(diffs, d)
		default:
			unlisted++
		}
		return ok
	}}
	e.log.Info("verify started", "dest", cfg.Dest.String())
	r := execRsyncOut(ctx, &cfg, rsyncArgs(&cfg, modeVerify), nil, cfg.stallAfter(modeFull), nil, sink)
	rerr := e.resultError(r)
	var found []Difference
	more := 0
	sink.hold(func() { found, more = slices.Clone(diffs), unlisted })

	vanished, ok := vanishedOnly(r, rerr, cfg.Dest)
	if ok {
		rerr = nil // deleted under rsync: changing paths, skipped like the others
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.broadcastLocked()
	e.judgeLocked(&res, found, more, vanished, fullCount)
	if rerr != nil {
		// The message is written for shipping, which retries; verify does not.
		re := *rerr
		if m, ok := strings.CutSuffix(re.Msg, "retrying"); ok {
			re.Msg = strings.TrimRight(m, " ;,:")
		}
		res.Error = re.Msg
		err = fmt.Errorf("verify of %s: %w", cfg.Dest, &re)
		if rerr.Class == ClassCancelled && ctx.Err() != nil {
			// Stopped (shutdown, or the caller gave up): no verdict to keep.
			e.vf.last.Running = false
			e.log.Debug("verify stopped before it finished", "dest", res.Dest)
			res.Error = "stopped before it finished"
			return res, fmt.Errorf("verify of %s stopped before it finished: %w", cfg.Dest, context.Cause(ctx))
		}
	}
	e.noteVerifyLocked(res)
	return res, err
}

// judgeLocked sorts what rsync found into differences and paths that
// were changing (pending, changed during the run, or vanished under it),
// and ends the following of changes that beginVerify started.
func (e *Engine) judgeLocked(res *VerifyResult, found []Difference, more int, vanished []string, fullCount uint64) {
	v := &e.vf
	for _, p := range vanished {
		v.note(p)
	}
	e.q.each(func(c *entry) bool { v.note(c.path); return !v.overflow })
	if e.full.count != fullCount || e.debts.running != nil {
		v.overflow = true
		res.Note = "a full sync ran while verify did: every difference may be its doing; run verify again"
	}
	for _, d := range found {
		if v.unsure(d.Path) {
			res.SkippedCount++
			if len(res.Skipped) < maxVerifyListed {
				res.Skipped = append(res.Skipped, d.Path)
			}
			continue
		}
		res.Count++
		if len(res.Differences) < maxVerifyListed {
			res.Differences = append(res.Differences, d)
		}
	}
	res.Count += more
	if res.SkippedCount > 0 && res.Note == "" {
		res.Note = "paths that were queued or changed while verify ran are not judged; they ship as usual"
	}
	v.running, v.touched, v.parents, v.overflow = false, nil, nil, false
	res.Finished = e.now()
	if res.Differences == nil {
		res.Differences = []Difference{}
	}
}

// beginVerify waits for a running verify to end and starts following the
// paths Add sees. It returns a copy of the configuration, with the options
// the installed rsync supports, and how many full syncs have finished.
func (e *Engine) beginVerify(ctx context.Context) (Config, uint64, error) {
	e.mu.Lock()
	for e.vf.running {
		ch := e.changed
		e.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Config{}, 0, fmt.Errorf("waiting for the verify already running on %s: %w", e.cfg.Dest, ctx.Err())
		}
		e.mu.Lock()
	}
	v := &e.vf
	v.running, v.touched, v.parents, v.overflow = true, map[string]struct{}{}, map[string]struct{}{}, false
	v.last.Running = true
	e.q.each(func(c *entry) bool { v.note(c.path); return !v.overflow })
	cfg, done, count := e.cfg, e.versionDone, e.full.count
	e.mu.Unlock()
	if !done {
		// Verify may come before the scheduler's first run: learn the
		// options on a copy, as detectVersion does for the engine.
		if ver, err := RsyncVersion(ctx, cfg.RsyncPath); err == nil {
			cfg.exactTimes = !ver.Less(Version{Major: 3, Minor: 2})
		}
	}
	return cfg, count, nil
}

func (e *Engine) noteVerifyLocked(res VerifyResult) {
	l := &e.vf.last
	l.Running = false
	l.Last = tptr(res.Finished)
	l.Differences = res.Count
	l.Error = res.Error
	l.Paths = nil
	for _, d := range res.Differences {
		if len(l.Paths) == maxStuckListed {
			break
		}
		l.Paths = append(l.Paths, d.Path)
	}
	if res.Count > 0 {
		e.log.Warn("verify: the destination differs from the source", "dest", res.Dest, "differences", res.Count,
			"first", strings.Join(l.Paths[:min(len(l.Paths), 5)], ", "), "skipped", res.SkippedCount, "error", res.Error)
	} else {
		e.log.Info("verify done", "dest", res.Dest, "differences", 0, "skipped", res.SkippedCount, "error", res.Error)
	}
}

func (e *Engine) verifyStatusLocked() VerifyStatus {
	s := e.vf.last
	s.Running = e.vf.running
	s.Next = tptr(e.vf.next)
	s.Paths = slices.Clone(s.Paths)
	return s
}

// vanishedOnly reports whether the only problems of a partial run were
// files deleted while rsync ran, and returns them: for a comparison those
// are paths that changed, not a failure.
func vanishedOnly(r result, rerr *RsyncError, d Destination) ([]string, bool) {
	if rerr == nil || rerr.Class != ClassPartial || r.blocked != "" {
		return nil, false
	}
	probs, other := pathProblems(r.stderr, sourceArg, d)
	if len(other) > 0 {
		return nil, false
	}
	var paths []string
	for _, p := range probs {
		if !p.vanished || len(p.candidates) == 0 {
			return nil, false
		}
		paths = append(paths, p.candidates...)
	}
	return paths, true
}
