package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/config"
	"github.com/mirrorfs/mirrorfs/fs"
	"github.com/mirrorfs/mirrorfs/internal/control"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/hooks"
	"github.com/mirrorfs/mirrorfs/internal/metrics"
	"github.com/mirrorfs/mirrorfs/internal/rsyncproc"
	"github.com/mirrorfs/mirrorfs/mirror"
)

func mountCommand() *cli.Command {
	return &cli.Command{
		Name:      "mount",
		Usage:     "mount MOUNTPOINT (over itself, or from --source) and mirror every change to --dest",
		ArgsUsage: "MOUNTPOINT",
		Flags:     append(mountFlags(), helperFlags()...),
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			d, err := daemonize(c, cfg)
			if d == nil {
				return err // mount -f, or the parent of a detached mount
			}
			log, err := d.logger(cfg, c.App.ErrWriter)
			if err != nil {
				return err
			}
			inst, err := setup(c.Context, cfg, c.String("run-dir"), log)
			if err := d.reportReady(err); err != nil {
				return err
			}
			return d.exit(inst.serve())
		},
	}
}

// instance is one running mount: FUSE layer, one engine per destination
// and control socket.
type instance struct {
	cfg     config.Config
	log     *slog.Logger
	backing *os.File
	dests   []*destination // one engine each (dests.go)
	mount   *fs.Mount
	ctl     *control.Server
	started time.Time
	changes *changeHooks    // exclude filter and change log (changes.go)
	diag    *diagnostics    // stats, inotify audit, bypass list (diag.go)
	hooks   *hooks.Runner   // on-batch and the other hooks (hooks.go)
	metrics *metrics.Server // metrics-listen (metrics.go)

	stop     chan string   // a control request to unmount, with its reason
	done     chan struct{} // closed once the final report is ready
	final    shutdownReport
	finalErr error
}

// setup does everything up to a usable mount. Nothing here writes to the
// data directory: every check that can fail runs before the mount.
func setup(ctx context.Context, cfg config.Config, runDir string, log *slog.Logger) (*instance, error) {
	// rsyncs a killed mirrorfs left behind would race ours on the module.
	if _, err := rsyncproc.ReapOrphans(log); err != nil {
		log.Warn("cannot look for rsync processes left by a dead mirrorfs", "error", err)
	}
	if _, err := mirror.RsyncVersion(ctx, cfg.Rsync); err != nil {
		return nil, codef(exitcode.Internal, "%w (or point --rsync at a suitable rsync)", err)
	}
	dests, err := newDestinations(cfg, log)
	if err != nil {
		return nil, err
	}
	if cfg.Force {
		if err := clearStale(cfg.Mountpoint, log); err != nil {
			return nil, err
		}
	}
	if err := fs.CheckMountpoint(cfg.Mountpoint); err != nil {
		return nil, withCode(exitcode.Mount, err)
	}
	source := cfg.Source
	if source == "" {
		source = cfg.Mountpoint
	}
	backing, err := openBacking(source)
	if err != nil {
		return nil, withCode(exitcode.Mount, err)
	}
	inst := &instance{
		cfg:     cfg,
		log:     log,
		backing: backing,
		started: time.Now(),
		stop:    make(chan string, 1),
		done:    make(chan struct{}),
	}
	ok := false
	defer func() {
		if !ok {
			inst.closeAll()
		}
	}()

	for _, d := range dests {
		d.cfg.Source, d.cfg.SourceName, d.cfg.Logger = backing, source, d.log
	}
	if err := inst.setupChanges(dests); err != nil {
		return nil, err
	}
	if err := setupJournals(cfg, dests, log); err != nil {
		return nil, err
	}
	engines := make([]*mirror.Engine, 0, len(dests))
	for _, d := range dests {
		inst.setupHooks(&d.cfg)
		if d.engine, err = mirror.New(d.cfg); err != nil {
			return nil, engineError(d.named(len(dests), err))
		}
		inst.dests = append(inst.dests, d)
		engines = append(engines, d.engine)
	}
	if err := inst.startMetrics(engines...); err != nil {
		return nil, err
	}
	if err := probeAll(ctx, dests); err != nil {
		return nil, err
	}
	inst.setupDiagnostics(source) // before the control socket: status reads it
	if inst.ctl, err = control.Listen(runDir, cfg.Mountpoint, inst, log); err != nil {
		return nil, withCode(exitcode.Mount, err)
	}
	inst.mount, err = fs.New(fs.Options{
		Backing:       backing,
		Mountpoint:    cfg.Mountpoint,
		FsName:        source,
		AllowOther:    cfg.AllowOther,
		Reporter:      inst.reporter(),
		WriteInterval: cfg.MaxDelay,
		Debug:         cfg.DebugFUSE,
		Logger:        log,
	})
	if err != nil {
		return nil, withCode(exitcode.Mount, err)
	}
	ok = true
	inst.startAudit()
	log.Info("mounted", "mountpoint", cfg.Mountpoint, "source", source, "dest", destNames(dests))
	return inst, nil
}

// probe checks one destination before mounting. A destination that refuses
// us (password, module, missing directory) is fatal; one that is merely
// unreachable is not: changes queue and ship once it is back.
func probe(ctx context.Context, ecfg mirror.Config, log *slog.Logger) error {
	pctx, cancel := context.WithTimeout(ctx, ecfg.ConTimeout+ecfg.Timeout)
	defer cancel()
	err := mirror.Probe(pctx, ecfg)
	if err == nil {
		return nil
	}
	if isUnreachable(err) {
		log.Warn("destination unreachable; changes will queue and ship when it is back", "dest", ecfg.Dest.String(), "err", err)
		return nil
	}
	return withCode(exitcode.Dest, err)
}

func openBacking(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("source directory %s does not exist: create it, or give an existing directory to mirror", dir)
		}
		if errors.Is(err, unix.ENOTDIR) {
			return nil, fmt.Errorf("source %s is not a directory: give a directory to mirror", dir)
		}
		return nil, fmt.Errorf("cannot open source directory %s: %w", dir, err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err == nil && st.Type == unix.FUSE_SUPER_MAGIC {
		unix.Close(fd)
		return nil, fmt.Errorf("source %s is itself a FUSE mount: mirrorfs serves a directory on a local filesystem (is another mirrorfs mounted there? see `mirrorfs status %s`)", dir, dir)
	}
	return os.NewFile(uintptr(fd), dir), nil
}

func (in *instance) closeAll() {
	for _, d := range in.dests {
		d.engine.Close() // nothing was mounted: an orderly stop
	}
	in.closeChanges()
	in.stopMetrics()
	in.closeHooks()
	if in.ctl != nil {
		in.ctl.Close()
	}
	if in.backing != nil {
		in.backing.Close()
	}
}

func newLogger(level string, w interface{ Write([]byte) (int, error) }) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
