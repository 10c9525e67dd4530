package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfs/mirrorfs/internal/control"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// versionsOf answers the "versions" control command for one engine.
func versionsOf(ctx context.Context, e *mirror.Engine, p string) ([]mirror.FileVersion, error) {
	v, err := e.Versions(ctx, p)
	switch {
	case errors.Is(err, mirror.ErrNoBackupDir):
		return nil, control.WithCode("no_backup_dir", fmt.Errorf("%w (mount with --backup-dir DIR to keep versions)", err))
	case err != nil:
		return nil, control.WithCode("versions", err)
	}
	return v, nil
}

func versionsCommand() *cli.Command {
	return &cli.Command{
		Name:  "versions",
		Usage: "list the earlier contents of a path kept in backup-dir on the destination, newest first",
		Description: "PATH is a path under the mountpoint, absolute or relative to the mountpoint. Each version is the\n" +
			"content a batch overwrote or deleted, in the dated directory backup-dir/STAMP on the destination.",
		ArgsUsage: "MOUNTPOINT PATH",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
			destFlag,
			timeoutFlag,
		},
		Action: func(c *cli.Context) error {
			dest, err := destArg(c)
			if err != nil {
				return err
			}
			if c.NArg() != 2 {
				return codef(exitcode.Usage, "expected MOUNTPOINT and PATH, got %d arguments (see `mirrorfs versions --help`)", c.NArg())
			}
			mp, err := filepath.Abs(c.Args().Get(0))
			if err != nil {
				return codef(exitcode.Usage, "mountpoint %q: %v", c.Args().Get(0), err)
			}
			rel, err := relativeTo(mp, c.Args().Get(1))
			if err != nil {
				return err
			}
			if rel == "" {
				return codef(exitcode.Usage, "PATH %q is the mountpoint itself: name a file under it", c.Args().Get(1))
			}
			var vs []mirror.FileVersion
			resp, err := call(c, mp, control.Request{Cmd: "versions", Path: rel, Dest: dest}, &vs)
			if err != nil {
				return err
			}
			if !resp.OK {
				code := exitcode.Dest
				if resp.Code == "no_backup_dir" || resp.Code == codeUnknownDest {
					code = exitcode.Usage
				}
				return codef(code, "versions of %s: %s", rel, resp.Error)
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, vs)
			}
			if len(vs) == 0 {
				fmt.Fprintf(c.App.Writer, "no versions of %s kept on the destination\n", rel)
				return nil
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "stamp\tsize\tmtime")
			for _, v := range vs {
				fmt.Fprintf(tw, "%s\t%d\t%s\n", v.Stamp, v.Size, v.MTime.Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
}

// relativeTo turns a path given on the command line into one relative to
// the mountpoint: an absolute path must lie under it; "" is the mountpoint.
func relativeTo(mp, p string) (string, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(mp, p)
	}
	rel, err := filepath.Rel(mp, filepath.Clean(p))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", codef(exitcode.Usage, "path %q is not under the mountpoint %s", p, mp)
	}
	if rel == "." {
		return "", nil
	}
	return rel, nil
}
