package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfs/mirrorfs/internal/control"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/stats"
)

// statsTop is how many paths the control command returns; --top cuts it.
const statsTop = 100

func statsCommand() *cli.Command {
	return &cli.Command{
		Name:  "stats",
		Usage: "count the changes made through a mount per event type, in total and for the busiest paths (like inotifywatch)",
		Description: "Counts since the mount started, in inotify's words: writes count as close_write (mirrorfs sees them\n" +
			"when the file is closed), truncations as modify. Paths beyond the 1,000 busiest are estimated.",
		ArgsUsage: "MOUNTPOINT",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
			&cli.IntFlag{Name: "top", Value: 10, Usage: "show the `N` busiest paths"},
		},
		Action: func(c *cli.Context) error {
			mp, err := mountpointArg(c)
			if err != nil {
				return err
			}
			var snap stats.Snapshot
			resp, err := call(c, mp, control.Request{Cmd: "stats"}, &snap)
			if err != nil {
				return err
			}
			if !resp.OK {
				return codef(exitcode.Internal, "stats of %s: %s", mp, resp.Error)
			}
			if n := c.Int("top"); n >= 0 && len(snap.Paths) > n {
				snap.Paths = snap.Paths[:n]
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, snap)
			}
			printStats(c.App.Writer, mp, snap, time.Now())
			return nil
		},
	}
}

// printStats prints inotifywatch's table: the whole mount first, then the
// busiest paths.
func printStats(w io.Writer, mp string, s stats.Snapshot, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := []string{"total"}
	for _, k := range stats.Kinds() {
		head = append(head, stats.Name(k))
	}
	fmt.Fprintln(tw, strings.Join(append(head, "filename"), "\t"))
	row := func(total uint64, c stats.Counts, name string) {
		cells := []string{fmt.Sprint(total)}
		for _, n := range c {
			cells = append(cells, fmt.Sprint(n))
		}
		fmt.Fprintln(tw, strings.Join(append(cells, name), "\t"))
	}
	row(s.Total, s.Totals, mp+"/ (all paths)")
	for _, p := range s.Paths {
		name := filepath.Join(mp, p.Path)
		if p.Error > 0 {
			name += fmt.Sprintf(" (±%d)", p.Error)
		}
		row(p.Total, p.Counts, name)
	}
	tw.Flush()
	fmt.Fprintf(w, "since %s (%s ago); %d of %d path slots in use\n", s.Since.Format(time.DateTime), since(now, s.Since), s.Tracked, s.Slots)
}
