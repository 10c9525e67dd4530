package mirror

import (
	"slices"
	"time"
)

// A debt is a whole-tree sync the engine owes: "a full sync must start
// after sequence N, for this reason". Every cause of a full sync is one:
// the initial sync, the first start after an unclean stop, `sync --full`,
// the reconcile interval, and changes the full queue could not take
// (overflow). One mechanism schedules them, one check makes barriers wait
// for them (blocksBarrier), and every debt is journaled (recOwed) until a
// full sync pays it, so a stop that could not pay it hands it on to the
// next start.

// Reason is why a full sync is owed.
type Reason uint8

const (
	ReasonInitial   Reason = iota + 1 // the mount's initial sync
	ReasonUnclean                     // the previous run stopped without flushing: its last instant may be missing
	ReasonOverflow                    // changes past max-pending were left to a full sync
	ReasonRequested                   // asked for (sync --full)
	ReasonInterval                    // the reconcile interval came round
)

var reasonNames = [...]string{
	ReasonInitial: "initial", ReasonUnclean: "unclean-start", ReasonOverflow: "overflow",
	ReasonRequested: "requested", ReasonInterval: "interval",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return "reason?"
}

func parseReason(s string) (Reason, bool) {
	for r, n := range reasonNames {
		if n != "" && n == s {
			return Reason(r), true
		}
	}
	return 0, false
}

// blocks reports whether barriers wait for a debt of this reason: it
// stands for changes that nothing else ships. Requested and scheduled
// full syncs look for changes that bypassed the mount; a barrier does not
// wait for them (the requester waits on its own, see Reconcile).
func (r Reason) blocks() bool {
	return r == ReasonInitial || r == ReasonUnclean || r == ReasonOverflow
}

// debt is one owed full sync.
type debt struct {
	reason Reason
	minSeq uint64 // the oldest change it stands for (barriers from here on wait)
	seq    uint64 // the full sync that pays it must start after this
	since  time.Time
}

// debts is the ledger of owed full syncs. A pure data structure: the
// Engine serializes access to it.
type debts struct {
	owed    []debt // at most one per reason, oldest first
	running []debt // owed before the running full sync started: it pays them
	// paidSeq is the start seq of the last full sync that finished; a
	// request made at seq s is met once paidSeq >= s.
	paidSeq uint64
}

// owe records a debt; it reports whether a new debt was opened (rather
// than joined to one of the same reason not yet started).
func (d *debts) owe(r Reason, minSeq, seq uint64, now time.Time) bool {
	for i := range d.owed {
		if d.owed[i].reason == r {
			d.owed[i].minSeq = min(d.owed[i].minSeq, minSeq)
			d.owed[i].seq = max(d.owed[i].seq, seq)
			return false
		}
	}
	d.owed = append(d.owed, debt{reason: r, minSeq: minSeq, seq: seq, since: now})
	return true
}

// due reports whether a full sync is owed and not running.
func (d *debts) due() bool { return len(d.owed) > 0 && d.running == nil }

// start moves every owed debt into the full sync starting now, at seq.
func (d *debts) start(seq uint64) []debt {
	for i := range d.owed {
		d.owed[i].seq = max(d.owed[i].seq, seq)
	}
	d.running, d.owed = d.owed, nil
	return d.running
}

// finish settles the running full sync: paid, its debts are gone;
// otherwise they are owed again, merged with any opened meanwhile.
func (d *debts) finish(paid bool) {
	run := d.running
	d.running = nil
	if paid {
		for _, r := range run {
			d.paidSeq = max(d.paidSeq, r.seq)
		}
		return
	}
	for _, r := range run {
		if d.owe(r.reason, r.minSeq, r.seq, r.since) {
			// Reopened: it keeps its place at the front.
			n := len(d.owed) - 1
			d.owed = slices.Insert(d.owed[:n], 0, d.owed[n])
		}
	}
}

// blocksBarrier reports whether a barrier for changes up to limit waits
// for an owed or running full sync.
func (d *debts) blocksBarrier(limit uint64) bool {
	for _, l := range [][]debt{d.owed, d.running} {
		for _, x := range l {
			if x.reason.blocks() && x.minSeq <= limit {
				return true
			}
		}
	}
	return false
}

// has reports whether a debt of reason r is owed or being paid.
func (d *debts) has(r Reason) bool {
	return slices.ContainsFunc(d.owed, func(x debt) bool { return x.reason == r }) ||
		slices.ContainsFunc(d.running, func(x debt) bool { return x.reason == r })
}

// all lists the owed and running debts, running first.
func (d *debts) all() []debt { return append(slices.Clone(d.running), d.owed...) }

// OwedSync is one owed full sync, as status reports it.
type OwedSync struct {
	Reason  string    `json:"reason"`
	Since   time.Time `json:"since"`
	Running bool      `json:"running"`
	Blocks  bool      `json:"blocks_barriers"` // sync --wait and unmount wait for it
}

func (d *debts) status() []OwedSync {
	out := []OwedSync{}
	for _, x := range d.running {
		out = append(out, OwedSync{Reason: x.reason.String(), Since: x.since, Running: true, Blocks: x.reason.blocks()})
	}
	for _, x := range d.owed {
		out = append(out, OwedSync{Reason: x.reason.String(), Since: x.since, Blocks: x.reason.blocks()})
	}
	return out
}
