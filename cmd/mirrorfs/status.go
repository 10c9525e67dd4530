package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfs/mirrorfs/internal/control"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/mirror"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show the queue, the last sync, the last error and totals of a mount",
		ArgsUsage: "MOUNTPOINT",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
			&cli.BoolFlag{Name: "prometheus", Usage: "the metrics in Prometheus text format, for node_exporter's textfile collector"},
		},
		Action: func(c *cli.Context) error {
			mp, err := mountpointArg(c)
			if err != nil {
				return err
			}
			if c.Bool("json") && c.Bool("prometheus") {
				return codef(exitcode.Usage, "status: --json and --prometheus exclude each other: give one")
			}
			var st statusView
			resp, err := call(c, mp, control.Request{Cmd: "status"}, &st)
			if err != nil {
				return err
			}
			if !resp.OK {
				return codef(exitcode.Internal, "status of %s: %s", mp, resp.Error)
			}
			if c.Bool("prometheus") {
				return writePrometheus(c.App.Writer, st)
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, st)
			}
			printStatus(c.App.Writer, st, time.Now())
			return nil
		},
	}
}

func printStatus(w io.Writer, st statusView, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t(pid %d, mirrorfs %s, up %s)\n", st.Mountpoint, st.PID, st.Version, since(now, st.Started))
	fmt.Fprintf(tw, "  source\t%s\n", st.Source)
	fmt.Fprintf(tw, "  destination\t%s\n", st.Dest)
	fmt.Fprintf(tw, "  state\t%s\n", st.State)
	oldest := "-"
	if st.Pending > 0 {
		oldest = (time.Duration(st.OldestPendingAgeSeconds * float64(time.Second))).Round(time.Millisecond).String()
	}
	fmt.Fprintf(tw, "  queue\t%d pending, %d in flight, oldest %s\n", st.Pending, st.InFlight, oldest)
	if st.OverflowFullSync {
		fmt.Fprintf(tw, "  overflow\tmore than max-pending=%d changes: directories ship recursively, a full sync is owed\n", st.MaxPending)
	}
	fmt.Fprintf(tw, "  initial sync\t%s\n", initialState(st.InitialSync))
	for _, o := range st.Reconcile.Owed {
		what := "owed"
		if o.Running {
			what = "running"
		}
		wait := ""
		if o.Blocks {
			wait = "; sync --wait and unmount wait for it"
		}
		fmt.Fprintf(tw, "  full sync\t%s (%s, since %s ago%s)\n", what, o.Reason, since(now, o.Since), wait)
	}
	printRunProgress(tw, st.Status, now)
	printRecovery(tw, st)
	printHeld(tw, st.Held, now)
	if st.LastSuccess != nil {
		fmt.Fprintf(tw, "  last sync\t%s (%s ago)\n", st.LastSuccess.Format(time.DateTime), since(now, *st.LastSuccess))
	} else {
		fmt.Fprintf(tw, "  last sync\tnever\n")
	}
	if st.LastError != "" {
		when := ""
		if st.LastErrorTime != nil {
			when = fmt.Sprintf(" (%s ago, %d failure(s) in a row)", since(now, *st.LastErrorTime), st.ConsecutiveFailures)
		}
		fmt.Fprintf(tw, "  last error\t%s%s\n", st.LastError, when)
	}
	if st.NextRetry != nil {
		fmt.Fprintf(tw, "  next retry\tin %s\n", st.NextRetry.Sub(now).Round(time.Millisecond))
	}
	t := st.Totals
	fmt.Fprintf(tw, "  totals\t%d events, %d batches, %d paths shipped, %s sent, %d retries, %d failures\n",
		t.Events, t.Batches, t.ShippedPaths, bytesHuman(t.BytesSent), t.Retries, t.Failures)
	printVerifyStatus(tw, st.Verify, now)
	printDiag(tw, st)
	if len(st.Destinations) > 1 {
		printDestinations(tw, st.Destinations, now)
	}
	tw.Flush()
	if st.StuckCount > 0 {
		fmt.Fprintf(w, "  not mirrored: %d path(s)\n", st.StuckCount)
		for _, s := range st.Stuck {
			fmt.Fprintf(w, "    %q: %s (attempts %d)\n", s.Path, s.Error, s.Attempts)
		}
	}
}

// printDestinations lists each destination of a mount that has several;
// the lines above it are their aggregate.
func printDestinations(w io.Writer, ds []destStatus, now time.Time) {
	for _, d := range ds {
		fmt.Fprintf(w, "  destination %s\t%s\n", d.Name, d.Dest)
		lag := "-"
		if d.Pending > 0 {
			lag = (time.Duration(d.OldestPendingAgeSeconds * float64(time.Second))).Round(time.Millisecond).String()
		}
		fmt.Fprintf(w, "    state\t%s, %d pending, %d in flight, lag %s\n", d.State, d.Pending, d.InFlight, lag)
		if d.LastSuccess != nil {
			fmt.Fprintf(w, "    last sync\t%s (%s ago)\n", d.LastSuccess.Format(time.DateTime), since(now, *d.LastSuccess))
		} else {
			fmt.Fprintf(w, "    last sync\tnever\n")
		}
		if d.LastError != "" {
			fmt.Fprintf(w, "    last error\t%s (%d failure(s) in a row)\n", d.LastError, d.ConsecutiveFailures)
		}
		if d.StuckCount > 0 {
			fmt.Fprintf(w, "    not mirrored\t%d path(s)\n", d.StuckCount)
		}
	}
}

func initialState(s mirror.InitialState) string {
	switch {
	case !s.Enabled:
		return "off"
	case s.Running:
		return "running"
	case s.Error != "":
		return "failed: " + s.Error
	case s.Done:
		return "done"
	}
	return "waiting"
}

func since(now, t time.Time) string {
	return now.Sub(t).Round(time.Second).String()
}

func bytesHuman(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// isUnreachable tells a destination that is down (not fatal at mount time:
// changes queue) from one that refuses us (fatal).
func isUnreachable(err error) bool {
	var re *mirror.RsyncError
	if !errors.As(err, &re) {
		return false
	}
	switch re.Class {
	case mirror.ClassConnect, mirror.ClassTimeout, mirror.ClassStream:
		return true
	}
	return false
}
