package main

import (
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfs/mirrorfs/internal/control"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// releaseResult answers the "release" control command.
type releaseResult struct {
	Released int               `json:"released"` // paths whose held delete now ships
	Held     mirror.HeldStatus `json:"held"`     // what is still held
}

// releaseOn answers the "release" control command for one engine.
func releaseOn(e *mirror.Engine, p string) releaseResult {
	return releaseResult{Released: e.Release(p), Held: e.Status().Held}
}

// releaseDests releases on every destination named: the counts add up,
// the held paths are the first destination's that still holds some.
func releaseDests(ds []*destination, p string) releaseResult {
	var sum releaseResult
	for _, d := range ds {
		r := releaseOn(d.engine, p)
		sum.Released += r.Released
		sum.Held.Count += r.Held.Count
		if sum.Held.Paths == nil && r.Held.Count > 0 {
			sum.Held.Paths, sum.Held.Since, sum.Held.Reason = r.Held.Paths, r.Held.Since, r.Held.Reason
		}
	}
	return sum
}

func releaseCommand() *cli.Command {
	return &cli.Command{
		Name:  "release",
		Usage: "ship the deletes that hold-deletes holds back; the data directory is not touched",
		Description: "Held deletes are file deletes that hold-deletes kept from the destination after a mass delete\n" +
			"(see `mirrorfs status`). release queues them: the destination then deletes those files too.",
		ArgsUsage: "MOUNTPOINT",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "path", Usage: "release only the held deletes at `P` and below (relative to the mountpoint)"},
			&cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
			destFlag,
		},
		Action: func(c *cli.Context) error {
			mp, dest, err := mountTarget(c)
			if err != nil {
				return err
			}
			rel := ""
			if c.IsSet("path") {
				if rel, err = relativeTo(mp, c.String("path")); err != nil {
					return err
				}
			}
			var res releaseResult
			resp, err := call(c, mp, control.Request{Cmd: "release", Path: rel, Dest: dest}, &res)
			if err != nil {
				return err
			}
			if !resp.OK {
				code := codeExit(resp.Code)
				return codef(code, "release %s: %s", mp, resp.Error)
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, res)
			}
			fmt.Fprintf(c.App.Writer, "%s: %d held deletes released (they ship now), %d still held\n", mp, res.Released, res.Held.Count)
			return nil
		},
	}
}

// printHeld is status's line for held deletes.
func printHeld(w io.Writer, h mirror.HeldStatus, now time.Time) {
	if h.Count == 0 && len(h.Paths) == 0 {
		return
	}
	ago := ""
	if h.Since != nil {
		ago = fmt.Sprintf(", since %s ago", since(now, *h.Since))
	}
	first := ""
	if len(h.Paths) > 0 {
		first = fmt.Sprintf("; first %q", h.Paths[0])
	}
	fmt.Fprintf(w, "  held deletes\t%d file(s)%s: %s%s; `mirrorfs release` ships them\n", h.Count, ago, h.Reason, first)
}
