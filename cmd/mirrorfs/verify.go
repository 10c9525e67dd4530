package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfs/mirrorfs/internal/control"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// verifyReport answers the control command "verify".
type verifyReport struct {
	mirror.VerifyResult
	Repaired    bool   `json:"repaired,omitempty"` // --repair: every difference is on the destination now
	RepairError string `json:"repair_error,omitempty"`
	// Failed: this destination could not be compared (several destinations).
	Failed string `json:"failed,omitempty"`
}

// verifyEngine compares one destination with the source and, with
// repair, queues the differences and waits for them to ship.
func verifyEngine(ctx context.Context, eng *mirror.Engine, repair bool) (verifyReport, error) {
	res, err := eng.Verify(ctx)
	rep := verifyReport{VerifyResult: res}
	if err != nil && res.Count == 0 {
		// Nothing compared, or nothing found in what could be: not a
		// verdict either way.
		code := "verify_failed"
		if re, ok := errors.AsType[*mirror.RsyncError](err); ok && (re.Class == mirror.ClassAuth || re.Class == mirror.ClassUnknownModule) {
			code = "dest"
		}
		return rep, control.WithCode(code, err)
	}
	if repair && res.Count > 0 {
		if err := eng.Repair(ctx, res); err != nil {
			rep.RepairError = err.Error()
		} else {
			rep.Repaired = true
		}
	}
	return rep, nil
}

// verifyReply is the "verify" answer: one report, or with several
// destinations their sum at the top level and one report each.
type verifyReply struct {
	verifyReport
	Destinations []verifyReport `json:"destinations,omitempty"`
}

// verifyDests verifies each destination named, all at once. One alone
// answers as verifyEngine does; with several, a destination that could
// not be compared carries its error in its report.
func verifyDests(ctx context.Context, ds []*destination, repair bool) (verifyReply, error) {
	if len(ds) == 1 {
		rep, err := verifyEngine(ctx, ds[0].engine, repair)
		return verifyReply{verifyReport: rep}, err
	}
	reps := make([]verifyReport, len(ds))
	eachDest(ds, func(i int, d *destination) {
		rep, err := verifyEngine(ctx, d.engine, repair)
		if err != nil {
			rep.Failed = err.Error()
		}
		rep.Dest = d.name
		reps[i] = rep
	})
	sum := verifyReply{Destinations: reps}
	sum.Dest = destNames(ds)
	sum.Repaired = true
	for _, r := range reps {
		sum.Count += r.Count
		sum.SkippedCount += r.SkippedCount
		sum.Repaired = sum.Repaired && (r.Repaired || r.Count == 0)
	}
	return sum, nil
}

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "compare the source and the destination by content and list every difference",
		Description: "Runs an rsync checksum dry run of the whole tree against the destination (it reads every file).\n" +
			"Exits 0 when they are equal, " + strconv.Itoa(exitcode.Differ) + " when they differ. Paths queued or changed while it runs are not judged.\n" +
			"--repair queues the differing paths and waits until they are on the destination (then exits 0).",
		ArgsUsage: "MOUNTPOINT",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "repair", Usage: "queue the differing paths and wait until they are on the destination"},
			&cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
			destFlag,
			timeoutFlag,
		},
		Action: func(c *cli.Context) error {
			mp, dest, err := mountTarget(c)
			if err != nil {
				return err
			}
			var reply verifyReply
			resp, err := call(c, mp, control.Request{Cmd: "verify", Repair: c.Bool("repair"), Dest: dest}, &reply)
			if err != nil {
				return err
			}
			if !resp.OK {
				code := exitcode.Internal
				switch resp.Code {
				case "dest":
					code = exitcode.Dest
				case codeUnknownDest:
					code = exitcode.Usage
				}
				return codef(code, "%s (mirrorfs verify %s)", resp.Error, mp)
			}
			reps := reply.Destinations
			if len(reps) == 0 {
				reps = []verifyReport{reply.verifyReport}
			}
			for _, rep := range reps {
				for i, d := range rep.Differences {
					if d.PathBytes != nil {
						rep.Differences[i].Path = string(d.PathBytes)
					}
				}
			}
			if c.Bool("json") {
				if err := printJSON(c.App.Writer, reply); err != nil {
					return err
				}
			} else {
				for _, rep := range reps {
					if len(reps) > 1 {
						fmt.Fprintf(c.App.Writer, "== %s\n", rep.Dest)
					}
					printVerify(c.App.Writer, mp, rep)
				}
			}
			return verifyExitAll(mp, reps)
		},
	}
}

// verifyExitAll is the worst exit of several destinations' reports: a
// destination not compared, then a failed repair, then differences.
func verifyExitAll(mp string, reps []verifyReport) error {
	if len(reps) == 1 {
		return verifyExit(mp, reps[0])
	}
	var worst error
	worstRank := 0
	for _, rep := range reps {
		err, r := verifyExit(mp, rep), 0
		switch {
		case rep.Failed != "":
			err, r = codef(exitcode.Internal, "verify %s: destination %s could not be compared: %s", mp, rep.Dest, rep.Failed), 3
		case err != nil && rep.RepairError != "":
			r = 2
		case err != nil:
			r = 1
		}
		if r > worstRank {
			worst, worstRank = err, r
		}
	}
	return worst
}

// verifyExit: 0 when equal or repaired, Differ when not, Sync when the
// repair could not ship everything.
func verifyExit(mp string, rep verifyReport) error {
	switch {
	case rep.Count == 0:
		return nil
	case rep.RepairError != "":
		return codef(exitcode.Sync, "verify %s: %d difference(s); repairing them failed: %s", mp, rep.Count, rep.RepairError)
	case rep.Repaired:
		return nil
	}
	return codef(exitcode.Differ, "%s and %s differ in %d path(s) (mirrorfs verify --repair queues them)", mp, rep.Dest, rep.Count)
}

func printVerify(w io.Writer, mp string, rep verifyReport) {
	if rep.Failed != "" {
		fmt.Fprintf(w, "not compared: %s\n", rep.Failed)
		return
	}
	for _, d := range rep.Differences {
		name := displayPath(d.Path)
		if d.Dir && d.Path != "." {
			name += "/"
		}
		fmt.Fprintf(w, "%-10s  %s  %s\n", d.Kind, d.Item, name)
	}
	if n := rep.Count - len(rep.Differences); n > 0 {
		fmt.Fprintf(w, "... and %d more\n", n)
	}
	if rep.SkippedCount > 0 {
		fmt.Fprintf(w, "not judged: %d path(s) queued or changed meanwhile (%s)\n", rep.SkippedCount, rep.Note)
	}
	if rep.Error != "" {
		fmt.Fprintf(w, "incomplete: %s\n", rep.Error)
	}
	switch {
	case rep.Count == 0:
		fmt.Fprintf(w, "%s and %s are equal\n", mp, rep.Dest)
	case rep.Repaired:
		fmt.Fprintf(w, "repaired: %d difference(s) are on %s now\n", rep.Count, rep.Dest)
	}
}

// displayPath quotes a name that holds control characters, invalid UTF-8
// or a leading space, so that one difference stays one line.
func displayPath(p string) string {
	if !utf8.ValidString(p) || strconv.Quote(p) != `"`+p+`"` || (p != "" && p[0] == ' ') {
		return strconv.Quote(p)
	}
	return p
}
