package main

import (
	"errors"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfs/mirrorfs/internal/control"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
)

var version = "0.1.0-dev"

func newApp(stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "mirrorfs",
		Usage:   "mirror a directory to an rsync daemon in real time, through a FUSE mount",
		Version: version,
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "run-dir",
				Usage:   "directory of the root-only control sockets",
				EnvVars: []string{"MIRRORFS_RUN_DIR"},
				Value:   control.DefaultRunDir(),
			},
		},
		Commands: []*cli.Command{
			mountCommand(),
			unmountCommand(),
			statusCommand(),
			syncCommand(),
			checkCommand(),
			statsCommand(),
			releaseCommand(),
			versionsCommand(),
			verifyCommand(),
		},
		Writer:                    os.Stdout,
		ErrWriter:                 stderr,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true, // -o values carry their own commas
		ExitErrHandler:            func(*cli.Context, error) {},
		OnUsageError:              usageError,
		Action:                    unknownCommand,
	}
	for _, c := range app.Commands {
		c.OnUsageError = usageError
	}
	return app
}

// unknownCommand runs when no subcommand matched: urfave/cli would answer
// "No help topic" with exit 3, which scripts would read as a mount problem.
func unknownCommand(c *cli.Context) error {
	if c.NArg() == 0 {
		return cli.ShowAppHelp(c)
	}
	var names []string
	for _, cmd := range c.App.VisibleCommands() {
		names = append(names, cmd.Name)
	}
	return codef(exitcode.Usage, "unknown command %q: the commands are %s (see `mirrorfs --help`)", c.Args().First(), strings.Join(names, ", "))
}

func usageError(c *cli.Context, err error, _ bool) error {
	name := "mirrorfs"
	if c != nil && c.Command != nil && c.Command.Name != "" {
		name += " " + c.Command.Name
	}
	return codef(exitcode.Usage, "%v (see `%s --help`)", err, name)
}

func run(args []string, stderr io.Writer) int {
	app := newApp(stderr)
	args, err := helperArgs(app, args)
	if err == nil {
		args, err = normalizeCommandArgs(app, args)
	}
	if err == nil {
		err = app.Run(args)
	}
	var ee cli.ExitCoder
	if err != nil && !errors.As(err, new(*exitError)) && errors.As(err, &ee) {
		err = withCode(ee.ExitCode(), err)
	}
	return report(stderr, err)
}

// normalizeCommandArgs applies normalizeArgs to the arguments of the
// subcommand, so that flags may follow positional arguments, and refuses
// a flag given twice (repeatedFlag).
func normalizeCommandArgs(app *cli.App, args []string) ([]string, error) {
	globalValued := valuedFlags(app.Flags)
	for i := 1; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if globalValued[strings.TrimLeft(a, "-")] {
				i++
			}
			continue
		}
		cmd := app.Command(a)
		if cmd == nil {
			return args, nil
		}
		if err := repeatedFlag(cmd, args[i+1:]); err != nil {
			return nil, err
		}
		out := append([]string{}, args[:i+1]...)
		return append(out, normalizeArgs(args[i+1:], valuedFlags(cmd.Flags))...), nil
	}
	return args, nil
}

func valuedFlags(flags []cli.Flag) map[string]bool {
	m := map[string]bool{}
	for _, f := range flags {
		if tv, ok := f.(interface{ TakesValue() bool }); ok && !tv.TakesValue() {
			continue
		}
		for _, n := range f.Names() {
			m[n] = true
		}
	}
	return m
}
