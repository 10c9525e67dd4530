package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfs/mirrorfs/internal/control"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
)

func mountpointArg(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", codef(exitcode.Usage, "expected one MOUNTPOINT argument, got %d (see `mirrorfs %s --help`)", c.NArg(), c.Command.Name)
	}
	return filepath.Abs(c.Args().First())
}

// call sends one request to the mirrorfs serving mp and decodes its data.
func call(c *cli.Context, mp string, req control.Request, out any) (control.Response, error) {
	ctx := c.Context
	if t := c.Duration("timeout"); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t+5*time.Second)
		defer cancel()
		req.TimeoutMS = t.Milliseconds()
	}
	resp, err := control.Call(ctx, c.String("run-dir"), mp, req)
	if _, failed := errors.AsType[*control.RemoteError](err); failed {
		return resp, nil // the handler's failure: callers read resp.Code
	}
	if err != nil {
		if errors.Is(err, control.ErrNotRunning) {
			return resp, withCode(exitcode.NotRunning, err)
		}
		return resp, withCode(exitcode.Internal, err)
	}
	if out != nil && len(resp.Data) > 0 {
		if err := json.Unmarshal(resp.Data, out); err != nil {
			return resp, codef(exitcode.Internal, "unreadable answer from mirrorfs on %s: %v", mp, err)
		}
	}
	return resp, nil
}

var timeoutFlag = &cli.DurationFlag{Name: "timeout", Usage: "give up after this long (0: wait as long as it takes)"}

func unmountCommand() *cli.Command {
	return &cli.Command{
		Name:      "unmount",
		Usage:     "ship everything still queued, then unmount; waits and reports",
		ArgsUsage: "MOUNTPOINT",
		Flags:     []cli.Flag{timeoutFlag},
		Action: func(c *cli.Context) error {
			mp, err := mountpointArg(c)
			if err != nil {
				return err
			}
			var rep shutdownReport
			var resp control.Response
			err = withProgress(c, mp, waitQueue, func() (err error) {
				resp, err = call(c, mp, control.Request{Cmd: "unmount"}, &rep)
				return err
			})
			if err != nil {
				return err
			}
			if !resp.OK {
				return codef(codeExit(resp.Code), "%s", resp.Error)
			}
			fmt.Fprintf(c.App.Writer, "%s unmounted: %s\n", mp, rep)
			return nil
		},
	}
}

func syncCommand() *cli.Command {
	return &cli.Command{
		Name:      "sync",
		Usage:     "ship every change made so far now; with --wait, return once they are on the destination",
		ArgsUsage: "MOUNTPOINT",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "wait", Usage: "wait until every change made before this call is on the destination"},
			&cli.BoolFlag{Name: "full", Usage: "run a full reconciling rsync of the whole tree"},
			destFlag,
			timeoutFlag,
		},
		Action: func(c *cli.Context) error {
			mp, dest, err := mountTarget(c)
			if err != nil {
				return err
			}
			req := control.Request{Cmd: "sync", Wait: c.Bool("wait"), Full: c.Bool("full"), Dest: dest}
			var resp control.Response
			send := func() (err error) {
				resp, err = call(c, mp, req, nil)
				return err
			}
			if req.Wait {
				kind := waitQueue
				if req.Full {
					kind = waitFull
				}
				err = withProgress(c, mp, kind, send)
			} else {
				err = send()
			}
			if err != nil {
				return err
			}
			if !resp.OK {
				return codef(codeExit(resp.Code), "sync %s: %s", mp, resp.Error)
			}
			return nil
		},
	}
}

// printJSON is the --json output of every command: indented, one value.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// destFlag names one destination of a mount for sync, release, versions
// and verify. A slice, so that giving it twice is an error, not "the last
// one wins".
var destFlag = &cli.StringSliceFlag{Name: "dest", Usage: "only the destination named `NAME` (its config-file section, or its destination string); default: all"}

// destArg is the one --dest given, or "".
func destArg(c *cli.Context) (string, error) {
	d := c.StringSlice("dest")
	switch len(d) {
	case 0:
		return "", nil
	case 1:
		return d[0], nil
	}
	return "", codef(exitcode.Usage, "option --dest given twice: %s takes one destination, or none for all (see `mirrorfs %s --help`)", c.Command.Name, c.Command.Name)
}

// mountTarget is the MOUNTPOINT argument and the one --dest of a
// command that acts on a running mount (sync, release, verify).
func mountTarget(c *cli.Context) (mp, dest string, err error) {
	if dest, err = destArg(c); err != nil {
		return "", "", err
	}
	if mp, err = mountpointArg(c); err != nil {
		return "", "", err
	}
	return mp, dest, nil
}

// codeExit maps a control error code back to the exit code it stands for.
func codeExit(code string) int {
	switch code {
	case "pending":
		return exitcode.Flush
	case "stuck":
		return exitcode.Sync
	case codeUnknownDest:
		return exitcode.Usage
	}
	return exitcode.Internal
}
