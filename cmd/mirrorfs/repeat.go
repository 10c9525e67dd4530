package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
)

// repeatedFlag refuses a flag of a client command given twice
// (`sync --timeout 1m --timeout 5s`): urfave/cli would keep the last
// value. The mount's option flags are config's (config.Load refuses
// repeats with where each came from), and slice flags (--dest, -o) are
// checked where they are read; mount(8)'s own helper switches may repeat.
func repeatedFlag(cmd *cli.Command, args []string) error {
	if cmd.Name == "mount" {
		return nil
	}
	canon := map[string]string{}
	valued := map[string]bool{}
	for _, f := range cmd.Flags {
		switch f.(type) {
		case *stringOptionFlag, *boolOptionFlag, *cli.StringSliceFlag:
			continue
		}
		names := f.Names()
		for _, n := range names {
			canon[n] = names[0]
		}
		if tv, ok := f.(interface{ TakesValue() bool }); ok && tv.TakesValue() {
			for _, n := range names {
				valued[n] = true
			}
		}
	}
	seen := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		c, ok := canon[name]
		if !ok {
			continue
		}
		if valued[name] && !hasValue {
			i++
		}
		if seen[c] {
			return codef(exitcode.Usage, "option --%s given twice: give it once (see `mirrorfs %s --help`)", c, cmd.Name)
		}
		seen[c] = true
	}
	return nil
}
