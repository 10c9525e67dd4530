package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfs/mirrorfs/config"
	"github.com/mirrorfs/mirrorfs/internal/control"
	"github.com/mirrorfs/mirrorfs/internal/doctor"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/mirror"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "check the kernel, FUSE, rsync, the password file and the destination; with MOUNTPOINT, probe the running mount live",
		Description: "Takes the destination options of `mirrorfs mount` (--dest, --password-file, --rsync, -o, --config),\n" +
			"or reads them from the mirrorfs serving MOUNTPOINT. Prints one line per check: OK, WARN, FAIL or SKIP,\n" +
			"with what to do. Exits 0 when nothing FAILs.",
		ArgsUsage: "[MOUNTPOINT]",
		Flags:     append(mountFlags(), &cli.BoolFlag{Name: "json", Usage: "print a JSON array of {check, result, detail, fix}"}),
		Action:    runCheck,
	}
}

func runCheck(c *cli.Context) error {
	cfg, err := loadOptions(c)
	if err != nil {
		return err
	}
	if c.NArg() > 1 {
		return codef(exitcode.Usage, "too many arguments %q: usage `mirrorfs check [options] [MOUNTPOINT]`", c.Args().Slice())
	}
	var mp string
	var served *statusView
	if c.NArg() == 1 {
		if mp, err = filepath.Abs(c.Args().First()); err != nil {
			return codef(exitcode.Usage, "mountpoint: %v", err)
		}
		var st statusView
		if resp, err := call(c, mp, control.Request{Cmd: "status"}, &st); err == nil && resp.OK {
			served = &st
		}
		if served != nil && cfg.Dest == "" {
			cfg.Dest = served.Dest
			if cfg.PasswordFile == "" {
				cfg.PasswordFile = served.PasswordFile
			}
		}
	}
	if cfg.Dest == "" {
		return codef(exitcode.Usage, "no destination: give --dest (and --password-file), or the MOUNTPOINT of a running mirrorfs")
	}
	if err := cfg.Validate(); err != nil {
		return withCode(exitcode.Usage, err)
	}
	checks := runChecks(c, cfg, mp, served)
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		if err := enc.Encode(checks); err != nil {
			return err
		}
	} else {
		printChecks(c.App.Writer, checks)
	}
	if n := doctor.Failed(checks); n > 0 {
		return codef(exitcode.Internal, "%d check(s) failed", n)
	}
	return nil
}

func runChecks(c *cli.Context, cfg config.Config, mp string, served *statusView) []doctor.Check {
	ctx := c.Context
	checks := []doctor.Check{doctor.Inotify()}
	checks = append(checks, doctor.Fuse()...)
	rs := doctor.Rsync(ctx, cfg.Rsync)
	checks = append(checks, rs)
	pw := doctor.PasswordFile(cfg.PasswordFile)
	checks = append(checks, pw)

	dest, err := mirror.ParseDestination(cfg.Dest)
	if err != nil {
		return append(checks, doctor.Check{Check: "destination", Result: doctor.Fail, Detail: err.Error(), Fix: "give --dest as user@host::module or rsync://user@host/module"})
	}
	d := doctor.Dest{Dest: dest, PasswordFile: cfg.PasswordFile, Rsync: cfg.Rsync, Timeout: cfg.Timeout, ConTimeout: cfg.ConTimeout}
	switch {
	case rs.Result == doctor.Fail:
		checks = append(checks, doctor.Check{Check: "destination", Result: doctor.Skip, Detail: "no usable rsync"})
	case pw.Result == doctor.Fail:
		checks = append(checks, doctor.Check{Check: "destination", Result: doctor.Skip, Detail: "the password file is unusable"})
	default:
		checks = append(checks, doctor.Destination(ctx, d)...)
	}
	if mp == "" {
		return checks
	}
	if served == nil {
		return append(checks, doctor.Check{Check: "live: mount", Result: doctor.Fail,
			Detail: fmt.Sprintf("no mirrorfs serves %s (or its control socket is not in --run-dir %s)", mp, c.String("run-dir")),
			Fix:    fmt.Sprintf("mount it: mirrorfs mount --dest DEST %s", mp)})
	}
	if doctor.Failed(checks) > 0 {
		return append(checks, doctor.Check{Check: "live: mount", Result: doctor.Skip, Detail: "earlier checks failed"})
	}
	checks = append(checks, doctor.Check{Check: "live: mount", Result: doctor.OK, Detail: fmt.Sprintf("served by pid %d, state %s", served.PID, served.State)})
	checks = append(checks, bypassCheck(mp, served))
	return append(checks, doctor.Live(ctx, mp, liveMount{c: c, mp: mp}, d)...)
}

// liveMount talks to the running mirrorfs over its control socket.
type liveMount struct {
	c  *cli.Context
	mp string
}

func (l liveMount) Events(context.Context) (uint64, error) {
	var st statusView
	resp, err := call(l.c, l.mp, control.Request{Cmd: "status"}, &st)
	if err == nil && !resp.OK {
		err = fmt.Errorf("%s", resp.Error)
	}
	return st.Totals.Events, err
}

func (l liveMount) Sync(context.Context) error {
	var resp control.Response
	err := withProgress(l.c, l.mp, waitQueue, func() (err error) {
		resp, err = call(l.c, l.mp, control.Request{Cmd: "sync", Wait: true}, nil)
		return err
	})
	if err == nil && !resp.OK {
		err = fmt.Errorf("%s", resp.Error)
	}
	return err
}

func printChecks(w io.Writer, checks []doctor.Check) {
	for _, ch := range checks {
		fmt.Fprintf(w, "%-4s  %s: %s\n", ch.Result, ch.Check, ch.Detail)
		if ch.Fix != "" && ch.Result != doctor.OK {
			fmt.Fprintf(w, "      fix: %s\n", ch.Fix)
		}
	}
}
