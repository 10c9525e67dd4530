package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
)

// destFlush is what the shutdown flush left for one destination.
type destFlush struct {
	Name         string   `json:"name"`
	Shipped      uint64   `json:"shipped"`
	Pending      int      `json:"pending"`
	PendingPaths []string `json:"pending_paths,omitempty"`
	Stuck        []string `json:"stuck,omitempty"`
	Error        string   `json:"error,omitempty"`
}

// flushInto flushes every destination at once, each within ctx (the
// flush-timeout): one that is down cannot hold up the others.
func (in *instance) flushInto(ctx context.Context, rep *shutdownReport) {
	per := make([]destFlush, len(in.dests))
	eachDest(in.dests, func(i int, d *destination) { per[i] = flushDest(ctx, d) })
	rep.Destinations = per
	rep.Shipped, rep.Pending, rep.PendingPaths, rep.Stuck, rep.Error = 0, 0, nil, nil, ""
	for _, f := range per {
		rep.Shipped += f.Shipped
		rep.Pending += f.Pending
		rep.PendingPaths = append(rep.PendingPaths, f.PendingPaths...)
		rep.Stuck = append(rep.Stuck, f.Stuck...)
		if rep.Error == "" && f.Error != "" {
			rep.Error = f.Error
			if len(per) > 1 {
				rep.Error = f.Name + ": " + f.Error
			}
		}
	}
}

func flushDest(ctx context.Context, d *destination) destFlush {
	fr, err := d.engine.Flush(ctx)
	for _, o := range fr.Owed {
		if d.cfg.StateDir == "" {
			d.log.Warn("a full sync is still owed; there is no journal (state-dir none): only the next mount's initial sync runs it", "reason", o.Reason, "since", o.Since.Format(time.DateTime))
			continue
		}
		d.log.Warn("a full sync is still owed; it is kept in the journal and the next mount runs it", "reason", o.Reason, "since", o.Since.Format(time.DateTime))
	}
	f := destFlush{
		Name:         d.name,
		Shipped:      d.engine.Status().Totals.ShippedPaths,
		Pending:      fr.Pending + fr.InFlight,
		PendingPaths: fr.Paths,
	}
	for _, s := range fr.Stuck {
		f.Stuck = append(f.Stuck, s.Path+": "+s.Error)
	}
	if err != nil {
		f.Error = err.Error()
	} else if f.Pending > 0 {
		f.Error = "changes were still arriving when the flush ended"
	}
	return f
}

// events is how many changes the mount reported: every engine sees each.
func (in *instance) events() uint64 {
	var n uint64
	for _, d := range in.dests {
		n = max(n, d.engine.Status().Totals.Events)
	}
	return n
}

// flushError is the exit of a mount after its last flush. With several
// destinations it names those that could not be flushed: their journals
// keep what they owe, and the next mount ships it to them alone.
func (in *instance) flushError(rep shutdownReport) error {
	if len(rep.Destinations) < 2 {
		switch {
		case rep.Pending > 0:
			return codef(exitcode.Flush, "%d change(s) not shipped before exit: %s — they are still in the data directory; %s", rep.Pending, rep.Error, in.nextMountShips())
		case len(rep.Stuck) > 0:
			return codef(exitcode.Sync, "%d path(s) could not be mirrored: %q (see the log)", len(rep.Stuck), firstN(rep.Stuck, 5))
		case rep.Error != "":
			return codef(exitcode.Flush, "flush incomplete: %s", rep.Error)
		}
		return nil
	}
	var unflushed, stuck []string
	for _, f := range rep.Destinations {
		switch {
		case f.Pending > 0:
			unflushed = append(unflushed, fmt.Sprintf("%s (%d change(s) not shipped: %s)", f.Name, f.Pending, f.Error))
		case f.Error != "":
			unflushed = append(unflushed, fmt.Sprintf("%s (%s)", f.Name, f.Error))
		case len(f.Stuck) > 0:
			stuck = append(stuck, fmt.Sprintf("%s: %q", f.Name, firstN(f.Stuck, 5)))
		}
	}
	switch {
	case len(unflushed) > 0:
		ships := in.nextMountShips()
		if len(unflushed) == 1 {
			ships = strings.Replace(ships, "each one's", "its", 1)
		}
		return codef(exitcode.Flush, "destination(s) not flushed before exit: %s — %s; the other destinations are up to date", strings.Join(unflushed, "; "), ships)
	case len(stuck) > 0:
		return codef(exitcode.Sync, "%d path(s) could not be mirrored: %s (see the log)", len(rep.Stuck), strings.Join(stuck, "; "))
	}
	return nil
}

// nextMountShips says how the changes a flush left get shipped.
func (in *instance) nextMountShips() string {
	if in.cfg.StateDir == "" || in.cfg.StateDir == "none" {
		return "the next mount's initial sync ships them"
	}
	if len(in.dests) > 1 {
		return "each one's journal keeps what it owes and the next mount ships that to it alone"
	}
	return "the journal keeps them and the next mount ships them"
}
