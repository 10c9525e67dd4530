package main

import (
	"context"
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
		Description: "Takes the destination options of `mirrorfs mount` (--dest, --password-file, --rsync, --rsh, --ssh-*, -o, --config),\n" +
			"or reads them from the mirrorfs serving MOUNTPOINT. Over ssh it checks the host key and the ssh login too.\n" +
			"Prints one line per check: OK, WARN, FAIL or SKIP,\n" +
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
	}
	if cfg.Dest == "" && served == nil {
		return codef(exitcode.Usage, "no destination: give --dest (and --password-file), or the MOUNTPOINT of a running mirrorfs")
	}
	vc := cfg // the served mount's destinations are its own; the rest is checked
	if vc.Dest == "" {
		vc.Dest = servedDest(served)
	}
	if err := vc.Validate(); err != nil {
		return withCode(exitcode.Usage, err)
	}
	checks := runChecks(c, cfg, mp, served)
	if c.Bool("json") {
		if err := printJSON(c.App.Writer, checks); err != nil {
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

// checkTarget is one destination to check, named when there are several.
type checkTarget struct {
	name string
	d    doctor.Dest
	err  error // the destination's options are unusable
}

func runChecks(c *cli.Context, cfg config.Config, mp string, served *statusView) []doctor.Check {
	ctx := c.Context
	checks := []doctor.Check{doctor.Inotify()}
	checks = append(checks, doctor.Fuse()...)
	rs := doctor.Rsync(ctx, cfg.Rsync)
	checks = append(checks, rs)

	targets := checkTargets(cfg, served)
	for _, t := range targets {
		checks = append(checks, named(t.name, checkOne(ctx, rs, t))...)
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
	for _, t := range targets {
		checks = append(checks, named(t.name, doctor.Live(ctx, mp, liveMount{c: c, mp: mp}, t.d))...)
	}
	return checks
}

// checkOne is the password file and destination checks of one target.
func checkOne(ctx context.Context, rs doctor.Check, t checkTarget) []doctor.Check {
	if t.err != nil {
		return []doctor.Check{{Check: "destination", Result: doctor.Fail, Detail: t.err.Error(),
			Fix: "give --dest as user@host::module, rsync://user@host/module, user@host:/path or a local directory, with the ssh options that fit it"}}
	}
	pw := doctor.PasswordFile(t.d.PasswordFile)
	checks := []doctor.Check{pw}
	switch {
	case rs.Result == doctor.Fail:
		return append(checks, doctor.Check{Check: "destination", Result: doctor.Skip, Detail: "no usable rsync"})
	case pw.Result == doctor.Fail:
		return append(checks, doctor.Check{Check: "destination", Result: doctor.Skip, Detail: "the password file is unusable"})
	}
	return append(checks, doctor.Destination(ctx, t.d)...)
}

// named prefixes the checks of one of several destinations with its name.
func named(name string, cs []doctor.Check) []doctor.Check {
	if name == "" {
		return cs
	}
	for i := range cs {
		cs[i].Check = name + ": " + cs[i].Check
	}
	return cs
}

// checkTargets are the destinations to check: those the options give, or
// without any, every destination of the running mount (with its
// password file and transport, from its status).
func checkTargets(cfg config.Config, served *statusView) []checkTarget {
	if cfg.Dest == "" && served != nil {
		return servedTargets(cfg, served)
	}
	ecfgs, err := cfg.Engines()
	if err != nil {
		return []checkTarget{{err: err}}
	}
	out := make([]checkTarget, len(ecfgs))
	for i, ecfg := range ecfgs {
		if len(ecfgs) > 1 {
			out[i].name = ecfg.DestName()
		}
		if served != nil && served.Transport != nil && ecfg.Dest.String() == served.Dest && cfg.Transport == (config.Transport{}) {
			ecfg.SSH = mirror.SSHFromStatus(served.Transport)
		}
		out[i].d, out[i].err = doctorDest(cfg, ecfg)
	}
	return out
}

// servedDest is one destination string of a running mount.
func servedDest(served *statusView) string {
	if len(served.Destinations) > 0 {
		return served.Destinations[0].Dest
	}
	return served.Dest
}

func servedTargets(cfg config.Config, served *statusView) []checkTarget {
	ds := served.Destinations
	if len(ds) == 0 { // a mirrorfs from before several destinations
		ds = []destStatus{{Status: served.Status, PasswordFile: served.PasswordFile}}
	}
	out := make([]checkTarget, len(ds))
	for i, st := range ds {
		if len(ds) > 1 {
			out[i].name = st.Name
		}
		c := cfg
		c.Dests = nil
		c.Dest, c.PasswordFile = st.Dest, st.PasswordFile
		ecfg, err := c.Engine()
		if err != nil {
			out[i].err = err
			continue
		}
		if st.Transport != nil {
			ecfg.SSH = mirror.SSHFromStatus(st.Transport)
			if bw := st.Transport.BwLimit; bw != "" {
				ecfg.BwLimit = bw
			}
		}
		out[i].d, out[i].err = doctorDest(c, ecfg)
	}
	return out
}

func doctorDest(cfg config.Config, ecfg mirror.Config) (doctor.Dest, error) {
	c := ecfg
	if err := mirror.CheckConfig(&c); err != nil {
		return doctor.Dest{}, err
	}
	return doctor.Dest{Dest: ecfg.Dest, PasswordFile: ecfg.PasswordFile, Rsync: cfg.Rsync, Timeout: cfg.Timeout, ConTimeout: cfg.ConTimeout, SSH: ecfg.SSH}, nil
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
