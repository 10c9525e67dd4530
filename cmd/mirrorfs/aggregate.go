package main

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/mirrorfs/mirrorfs/mirror"
)

// stateRank orders engine states from best to worst, for the aggregate;
// a state not listed ranks with shipping.
var stateRank = map[string]int{
	mirror.StateIdle:        0,
	mirror.StateShipping:    1,
	mirror.StateReconcile:   2,
	mirror.StateInitialSync: 3,
	mirror.StateRetrying:    4,
}

func rank(state string) int {
	if r, ok := stateRank[state]; ok {
		return r
	}
	return stateRank[mirror.StateShipping]
}

// aggregateStatus is the top level of `status` for several destinations:
// the sum of what adds up (pending, in flight, totals, stuck), the worst
// of the rest (state, lag, failures in a row, the oldest last success),
// the newest error, named by its destination. One destination is itself.
func aggregateStatus(sts []mirror.Status) mirror.Status {
	if len(sts) == 1 {
		return sts[0]
	}
	a := mirror.Status{Stuck: []mirror.StuckPath{}}
	var names, dests []string
	lastOK, allOK := (*time.Time)(nil), true
	for i, s := range sts {
		names, dests = append(names, s.Name), append(dests, s.Dest)
		if i == 0 || rank(s.State) > rank(a.State) {
			a.State = s.State
		}
		a.Source = s.Source
		a.Pending += s.Pending
		a.InFlight += s.InFlight
		a.MaxPending = s.MaxPending
		a.OverflowFullSync = a.OverflowFullSync || s.OverflowFullSync
		if s.OldestPending != nil && (a.OldestPending == nil || s.OldestPending.Before(*a.OldestPending)) {
			a.OldestPending = s.OldestPending
		}
		a.OldestPendingAgeSeconds = max(a.OldestPendingAgeSeconds, s.OldestPendingAgeSeconds)
		if s.LastSuccess == nil {
			allOK = false
		} else if lastOK == nil || s.LastSuccess.Before(*lastOK) {
			lastOK = s.LastSuccess
		}
		if s.LastError != "" && (a.LastErrorTime == nil || s.LastErrorTime != nil && s.LastErrorTime.After(*a.LastErrorTime)) {
			a.LastError, a.LastErrorClass, a.LastErrorTime = s.Name+": "+s.LastError, s.LastErrorClass, s.LastErrorTime
		}
		a.ConsecutiveFailures = max(a.ConsecutiveFailures, s.ConsecutiveFailures)
		if s.NextRetry != nil && (a.NextRetry == nil || s.NextRetry.Before(*a.NextRetry)) {
			a.NextRetry = s.NextRetry
		}
		addTotals(&a.Totals, s.Totals)
		for _, p := range s.Stuck {
			p.Error = s.Name + ": " + p.Error
			a.Stuck = append(a.Stuck, p)
		}
		a.StuckCount += s.StuckCount
		a.InitialSync.Enabled = a.InitialSync.Enabled || s.InitialSync.Enabled
		a.InitialSync.Running = a.InitialSync.Running || s.InitialSync.Running
		a.InitialSync.Done = (i == 0 || a.InitialSync.Done) && s.InitialSync.Done
		if a.InitialSync.Error == "" && s.InitialSync.Error != "" {
			a.InitialSync.Error = s.Name + ": " + s.InitialSync.Error
		}
		a.Recovery.Replayed += s.Recovery.Replayed
		if i == 0 || s.Recovery.Start == mirror.StartUnclean {
			a.Recovery.Start = s.Recovery.Start
		}
		if s.Recovery.Reconcile != "" && a.Recovery.Reconcile != "running" && a.Recovery.Reconcile != "waiting" {
			a.Recovery.Reconcile = s.Recovery.Reconcile
		}
		a.Journal.Bytes += s.Journal.Bytes
		a.Journal.Syncs += s.Journal.Syncs
		a.Reconcile.Running = a.Reconcile.Running || s.Reconcile.Running
		a.Reconcile.Pending = a.Reconcile.Pending || s.Reconcile.Pending
		a.Reconcile.Owed = append(a.Reconcile.Owed, s.Reconcile.Owed...)
		if a.Reconcile.LastError == "" && s.Reconcile.LastError != "" {
			a.Reconcile.LastError = s.Name + ": " + s.Reconcile.LastError
		}
		if a.Journal.Error == "" && s.Journal.Error != "" {
			a.Journal.Error = s.Name + ": " + s.Journal.Error
		}
		a.LinkedNames = max(a.LinkedNames, s.LinkedNames)
		a.LinkIndexReady = (i == 0 || a.LinkIndexReady) && s.LinkIndexReady
		a.Held.Count += s.Held.Count
		a.Verify.Differences += s.Verify.Differences
	}
	if allOK {
		a.LastSuccess = lastOK
	}
	a.Dest = strings.Join(dests, ", ")
	a.Journal.Enabled = sts[0].Journal.Enabled
	if dir := sts[0].Journal.Dir; dir != "" {
		a.Journal.Dir = filepath.Dir(dir) // the mountpoint's, holding each destination's
	}
	a.Reconcile.Interval, a.Reconcile.Next = sts[0].Reconcile.Interval, sts[0].Reconcile.Next
	if a.Reconcile.Owed == nil {
		a.Reconcile.Owed = []mirror.OwedSync{}
	}
	return a
}

func addTotals(a *mirror.Totals, t mirror.Totals) {
	a.Events = max(a.Events, t.Events) // every engine sees every change
	a.Batches += t.Batches
	a.ShippedPaths += t.ShippedPaths
	a.BytesSent += t.BytesSent
	a.Retries += t.Retries
	a.Failures += t.Failures
}
