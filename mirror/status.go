package mirror

import (
	"sort"
	"time"
)

// Status is a snapshot of the engine for `mirrorfs status`.
type Status struct {
	State                   string          `json:"state"`
	Source                  string          `json:"source"`
	Dest                    string          `json:"dest"`
	Pending                 int             `json:"pending"`
	MaxPending              int             `json:"max_pending"`
	OverflowFullSync        bool            `json:"overflow_full_sync"` // MaxPending reached: a full sync is owed (overflow.go)
	InFlight                int             `json:"in_flight"`
	OldestPending           *time.Time      `json:"oldest_pending,omitempty"`
	OldestPendingAgeSeconds float64         `json:"oldest_pending_age_seconds"`
	LastSuccess             *time.Time      `json:"last_success,omitempty"`
	LastError               string          `json:"last_error,omitempty"`
	LastErrorClass          string          `json:"last_error_class,omitempty"`
	LastErrorTime           *time.Time      `json:"last_error_time,omitempty"`
	ConsecutiveFailures     int             `json:"consecutive_failures"`
	NextRetry               *time.Time      `json:"next_retry,omitempty"`
	Totals                  Totals          `json:"totals"`
	Stuck                   []StuckPath     `json:"stuck"`
	StuckCount              int             `json:"stuck_count"`
	InitialSync             InitialState    `json:"initial_sync"`
	Reconcile               ReconcileStatus `json:"reconcile"`
	Recovery                RecoveryStatus  `json:"recovery"`
	Journal                 JournalStatus   `json:"journal"`
	LinkedNames             int             `json:"linked_names"`     // names of multi-linked files the engine keeps together
	LinkIndexReady          bool            `json:"link_index_ready"` // the start-up walk for linked names is done
	Name                    string          `json:"name"`             // the destination's name (Config.DestName)
	Held                    HeldStatus      `json:"held"`             // deletes held back by hold-deletes
	Verify                  VerifyStatus    `json:"verify"`           // the last content comparison with the destination
	// Transport is how the destination is reached (ssh, bwlimit); nil for
	// direct TCP or a local directory without a limit.
	Transport *TransportStatus `json:"transport,omitempty"`
	// Shipping is the progress of the rsync run shipping queued changes,
	// while one runs: its files are part of InFlight (progress.go).
	Shipping *FullProgress `json:"shipping,omitempty"`
}

// HeldStatus reports deletes that hold-deletes keeps from the destination
// until `mirrorfs release`.
type HeldStatus struct {
	Count  int        `json:"count"`           // files whose delete is held
	Paths  []string   `json:"paths,omitempty"` // the first of them, sorted
	Since  *time.Time `json:"since,omitempty"`
	Reason string     `json:"reason,omitempty"`
}

// VerifyStatus reports `mirrorfs verify` and verify-interval.
type VerifyStatus struct {
	Running     bool       `json:"running"`
	Last        *time.Time `json:"last,omitempty"` // when the last verify ended
	Differences int        `json:"differences"`    // found by the last verify
	Paths       []string   `json:"paths,omitempty"`
	Error       string     `json:"error,omitempty"`
	Next        *time.Time `json:"next,omitempty"`
}

// Totals count since the engine started.
type Totals struct {
	Events       uint64 `json:"events"`
	Batches      uint64 `json:"batches"`
	ShippedPaths uint64 `json:"shipped_paths"`
	BytesSent    int64  `json:"bytes_sent"`
	Retries      uint64 `json:"retries"`
	Failures     uint64 `json:"failures"`
}

// StuckPath is a path that is not on the destination and will not get
// there by waiting: too long for rsync, or failing on its own.
type StuckPath struct {
	Path     string    `json:"path"`
	Error    string    `json:"error"`
	Attempts int       `json:"attempts"`
	Since    time.Time `json:"since"`
}

// InitialState reports the start-up full sync.
type InitialState struct {
	Enabled bool   `json:"enabled"`
	Running bool   `json:"running"`
	Done    bool   `json:"done"`
	Error   string `json:"error,omitempty"`
	// Progress of the initial sync while it runs (progress.go).
	Progress *FullProgress `json:"progress,omitempty"`
}

const (
	StateInitialSync = "initial-sync"
	StateIdle        = "idle"
	StateShipping    = "shipping"
	StateRetrying    = "retrying"
)

const maxStuckListed = 100

const longPathMsg = "path longer than rsync's 4096-byte limit: not mirrored"

func stuckOfLong(l *longPath) StuckPath {
	return StuckPath{Path: l.path, Error: longPathMsg, Since: l.since}
}

func stuckOfEntry(e *entry) StuckPath {
	s := StuckPath{Path: e.path, Error: e.lastErr(), Attempts: e.attempts}
	if e.fail != nil {
		s.Since = e.fail.errSince
	}
	return s
}

func sortStuck(s []StuckPath) {
	sort.Slice(s, func(i, j int) bool { return s[i].Path < s[j].Path })
}

func tptr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
