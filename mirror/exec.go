package mirror

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/rsyncproc"
)

// result is what one rsync process left behind.
type result struct {
	code      int // -1: killed; -2: could not start
	stdout    []byte
	stderr    []byte
	bytesSent int64
	startErr  error
	stalled   time.Duration // killed by the watchdog after this long without progress
	// blocked is the path (relative to the source) that rsync was stuck
	// opening when it was killed: a listed file turned into a FIFO or a
	// device. Such a run also sets stalled (how long it was seen stuck, at
	// least 1ms); resultError takes blocked first.
	blocked string
}

// childEnv is the environment rsync runs with: RSYNC_PASSWORD only when no
// password file is set.
func childEnv(cfg *Config) []string { return rsyncproc.Env(cfg.PasswordFile != "") }

// execRsync runs rsync with the backing directory as fd 3; it is killed
// (with its children) when ctx ends, when it makes no progress for stall
// (0: never; see watchdog.go), or when it is stuck opening a path.
func execRsync(ctx context.Context, cfg *Config, args []string, stdin []byte, stall time.Duration) result {
	return execRsyncFd(ctx, cfg, args, stdin, stall, nil)
}

// execRsyncFd is execRsync with extra, when set, as the child's fd 4.
func execRsyncFd(ctx context.Context, cfg *Config, args []string, stdin []byte, stall time.Duration, extra *os.File) result {
	return execRsyncOut(ctx, cfg, args, stdin, stall, extra, nil)
}

// outSink reads a run's stdout as it comes (progress, itemized lines)
// and keeps what result.stdout should hold (the --stats block).
type outSink interface {
	io.Writer
	Kept() []byte
}

// execRsyncOut is execRsyncFd with out, when set, reading stdout.
func execRsyncOut(ctx context.Context, cfg *Config, args []string, stdin []byte, stall time.Duration, extra *os.File, out outSink) result {
	args, removeRules, xerr := cfg.Exclude.treeArgs(cfg.Source, args, stdin)
	if xerr != nil {
		return result{code: -2, startErr: xerr}
	}
	defer removeRules()
	if cfg.guard != nil {
		var unguard func()
		if args, unguard, xerr = cfg.guard(args); xerr != nil {
			return result{code: -2, startErr: xerr}
		}
		defer unguard()
	}
	var files []*os.File
	if cfg.Source != nil {
		files = []*os.File{cfg.Source}
		if extra != nil {
			files = append(files, extra)
		}
	}
	log := cfg.Logger
	if log != nil {
		log = log.With("dest", cfg.Dest.String())
	}
	spec := rsyncproc.Spec{
		Path:            cfg.RsyncPath,
		Args:            args,
		Stdin:           stdin,
		ExtraFiles:      files,
		DropPasswordEnv: cfg.PasswordFile != "", // exactly one source of the password
		Stall:           stall,
		Logger:          log,
	}
	if out != nil {
		spec.Stdout = out
	}
	p := rsyncproc.Run(ctx, spec)
	if out != nil {
		p.Stdout = out.Kept()
	}
	r := result{code: p.Code, stdout: p.Stdout, stderr: p.Stderr, startErr: p.StartErr, stalled: p.Stalled}
	if p.StartErr != nil {
		r.code = -2
	}
	if b := p.Blocked; b != nil {
		r.blocked = sourceRelative(cfg.Source, b)
		r.stalled = max(b.For, time.Millisecond)
	}
	r.bytesSent = statNumber(r.stdout, "Total bytes sent")
	return r
}

// sourceRelative maps the path a stuck rsync was opening to a path below
// the backing directory; the raw argument when it lies elsewhere.
func sourceRelative(src *os.File, b *rsyncproc.Blocked) string {
	p := b.Abs()
	if src != nil {
		if root, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(src.Fd()))); err == nil {
			if rel, err := filepath.Rel(root, p); err == nil && filepath.IsAbs(p) && !strings.HasPrefix(rel, "..") {
				return rel
			}
		}
	}
	if rel, ok := strings.CutPrefix(b.Path, sourceArg); ok {
		return strings.TrimSuffix(rel, "/")
	}
	return b.Path
}

var statRE = regexp.MustCompile(`(?m)^([A-Za-z ]+): ([0-9,]+)`)

func statNumber(out []byte, name string) int64 {
	for _, m := range statRE.FindAllSubmatch(out, -1) {
		if string(m[1]) == name {
			n, _ := strconv.ParseInt(strings.ReplaceAll(string(m[2]), ",", ""), 10, 64)
			return n
		}
	}
	return 0
}
