package mirror

import (
	"fmt"
	"time"
)

// health is how the destination has been answering: backoff after
// whole-run failures, and the last error. Per-path failures live on the
// queue's entries (attempts, backoff list); the stall watchdog lives with
// the process runner (watchdog.go).
type health struct {
	lastSuccess time.Time
	lastErr     *RsyncError
	lastErrTime time.Time
	failures    int // consecutive whole-run failures
	nextRetry   time.Time
	loggedErr   string
}

// blockedMsg is the per-path error of a path rsync hung on while opening.
const blockedMsg = "rsync hung opening it (it changed type under rsync, e.g. into a FIFO or device); retried on its own"

// blockedError is the error of a run killed because it hung opening a path.
func blockedError(r result) *RsyncError {
	return &RsyncError{Code: -1, Class: ClassPartial, Detail: "blocked opening " + r.blocked, Msg: "rsync hung opening " + r.blocked + " and was killed; that path is retried on its own"}
}

// resultError classifies a finished process; nil means success.
func (e *Engine) resultError(r result) *RsyncError {
	if r.blocked != "" {
		return blockedError(r)
	}
	if r.stalled > 0 {
		return &RsyncError{Code: -1, Class: ClassTimeout, Detail: "no progress for " + r.stalled.String(),
			Msg: fmt.Sprintf("rsync to %s made no progress for %s and was killed (both ends waiting on each other, or the destination hung): retrying", e.cfg.Dest, r.stalled)}
	}
	if r.startErr != nil {
		return &RsyncError{Code: -2, Class: ClassOther, Msg: fmt.Sprintf("cannot run %s: %v; it must be rsync 3.1.0 or newer; retrying", e.cfg.RsyncPath, r.startErr)}
	}
	return classify(r.code, r.stderr, e.cfg.Dest, &e.cfg)
}

// succeededLocked records a run that reached the destination.
func (e *Engine) succeededLocked() {
	h := &e.health
	if h.failures > 0 {
		e.log.Info("destination reachable again", "dest", e.cfg.Dest.String(), "after_failures", h.failures)
	}
	h.failures = 0
	h.nextRetry = time.Time{}
	h.loggedErr = ""
	h.lastSuccess = e.now()
	if e.state == StateRetrying {
		e.state = StateIdle
	}
}

// failedLocked records a whole-run failure and schedules the retry.
func (e *Engine) failedLocked(rerr *RsyncError) {
	h := &e.health
	h.failures++
	e.totals.Failures++
	h.lastErr = rerr
	h.lastErrTime = e.now()
	wait := e.cfg.backoff(h.failures)
	h.nextRetry = h.lastErrTime.Add(wait)
	e.state = StateRetrying
	if rerr.Msg != h.loggedErr {
		e.log.Warn(rerr.Msg, "dest", e.cfg.Dest.String(), "class", rerr.Class.String(), "exit", rerr.Code, "detail", rerr.Detail)
		h.loggedErr = rerr.Msg
	} else {
		e.log.Debug("rsync still failing", "class", rerr.Class.String(), "attempt", h.failures, "next_retry_in", wait)
	}
}

// logLongLocked reports newly seen over-long paths once.
func (e *Engine) logLongLocked() {
	for _, p := range e.q.takeNewLong() {
		e.log.Warn("path not mirrored: longer than rsync's 4096-byte limit", "source", e.cfg.SourceName, "path_prefix", p[:min(len(p), 64)], "length", len(p))
	}
}

// noteLongLocked records an over-long path rsync found inside a
// directory; it is reported by every later barrier (seq 0).
func (e *Engine) noteLongLocked(p string) { e.q.noteLong(p, e.now()) }
