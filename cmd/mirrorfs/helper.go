package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
)

// Hidden flags of the mount command, set only by helperArgs.
const (
	helperFlag = "helper" // started by mount(8) or mount.fuse3: detach unless foreground
	fakeFlag   = "fake"   // mount -f: check everything, mount nothing
)

func helperFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: helperFlag, Hidden: true},
		&cli.BoolFlag{Name: fakeFlag, Hidden: true},
	}
}

// helperArgs rewrites the two ways mount(8) starts a FUSE filesystem into
// `mirrorfs mount --helper ... -- SOURCE MOUNTPOINT`:
//
//	mount.mirrorfs SOURCE MOUNTPOINT [-sfnv] [-o OPTS] [-t TYPE]
//	    mount(8)'s helper protocol; argv[0] is /sbin/mount.mirrorfs or
//	    /sbin/mount.fuse.mirrorfs, a link to this binary. -f means fake.
//	mirrorfs SOURCE MOUNTPOINT -o OPTS [-f]
//	    how mount.fuse3 runs a fuse.mirrorfs filesystem: no subcommand,
//	    -f means foreground as for every FUSE filesystem.
//
// The -o string is passed on as one argument: config.ParseMountOptions
// splits it, so commas and quotes inside values survive. Anything else is
// returned unchanged.
func helperArgs(app *cli.App, args []string) ([]string, error) {
	if len(args) == 0 {
		return args, nil
	}
	if strings.HasPrefix(filepath.Base(args[0]), "mount.") {
		ensurePath()
		return mountHelperArgs(args)
	}
	out, ok := fuseStyleArgs(app, args)
	if ok {
		ensurePath()
	}
	return out, nil
}

// defaultPath is what a shell uses when PATH is unset.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ensurePath gives rsync a PATH to be found on: mount(8) runs its helpers
// with an environment stripped of PATH.
func ensurePath() {
	if os.Getenv("PATH") == "" {
		os.Setenv("PATH", defaultPath)
	}
}

func mountHelperArgs(args []string) ([]string, error) {
	out := []string{args[0], "mount", "--" + helperFlag}
	var pos []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-h" || a == "--help":
			return []string{args[0], "mount", "--help"}, nil
		case a == "-V" || a == "--version":
			return []string{args[0], "--version"}, nil
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case a == "-o" || a == "-t" || a == "-N":
			if i+1 >= len(args) {
				return nil, codef(exitcode.Usage, "mount helper: %s needs a value", a)
			}
			i++
			switch a {
			case "-o":
				out = append(out, "-o", args[i])
			case "-N":
				return nil, codef(exitcode.Usage, "mount helper: -N %s: mounting in another namespace is not supported (run mount inside that namespace instead)", args[i])
			} // -t TYPE: the type is what brought mount(8) here.
		case strings.HasPrefix(a, "-o"):
			out = append(out, "-o", a[2:])
		case strings.HasPrefix(a, "-t"):
		case len(a) > 1 && a[0] == '-' && a[1] != '-':
			for _, f := range a[1:] {
				switch f {
				case 'f':
					out = append(out, "--"+fakeFlag)
				case 's', 'n', 'v': // sloppy, no mtab, verbose: nothing to do for mirrorfs
				default:
					return nil, codef(exitcode.Usage, "mount helper: unknown flag -%c in %q (mount(8) passes -s -f -n -v -o OPTIONS -t TYPE; put mirrorfs options into -o)", f, a)
				}
			}
		case strings.HasPrefix(a, "--"):
			return nil, codef(exitcode.Usage, "mount helper: unknown flag %q (put mirrorfs options into -o, e.g. -o %s)", a, strings.TrimPrefix(a, "--"))
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) != 2 {
		return nil, codef(exitcode.Usage, "mount helper: expected SOURCE MOUNTPOINT, got %d argument(s) %q (usage: %s SOURCE MOUNTPOINT -o dest=DEST[,OPTIONS])", len(pos), pos, filepath.Base(args[0]))
	}
	return append(append(out, "--"), pos...), nil
}

// fuseStyleArgs inserts the mount subcommand when the first argument that
// is not a flag is not a command either, and -o is given, as mount.fuse3
// does. Global flags stay in front of the subcommand; every other argument
// follows it.
func fuseStyleArgs(app *cli.App, args []string) ([]string, bool) {
	globalValued := valuedFlags(app.Flags)
	isGlobal := map[string]bool{}
	for _, f := range app.Flags {
		for _, n := range f.Names() {
			isGlobal[n] = true
		}
	}
	globals := []string{args[0]}
	var rest []string
	hasO, positional := false, false
	for i := 1; i < len(args); i++ {
		a := args[i]
		name := strings.TrimLeft(a, "-")
		switch {
		case a == "--":
			rest = append(rest, args[i:]...)
			i = len(args)
		case a == "-o" && i+1 < len(args):
			hasO = true
			rest = append(rest, a, args[i+1])
			i++
		case strings.HasPrefix(a, "-o") && len(a) > 2:
			hasO = true
			rest = append(rest, "-o", a[2:])
		case a == "-f":
			rest = append(rest, "--foreground")
		case len(a) > 1 && a[0] == '-' && isGlobal[name]:
			globals = append(globals, a)
			if globalValued[name] && i+1 < len(args) {
				i++
				globals = append(globals, args[i])
			}
		case len(a) > 1 && a[0] == '-':
			rest = append(rest, a)
		default:
			if !positional && (app.Command(a) != nil || a == "help") {
				return args, false
			}
			positional = true
			rest = append(rest, a)
		}
	}
	if !positional || !hasO {
		return args, false
	}
	return append(append(globals, "mount", "--"+helperFlag), rest...), true
}
