package fs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// Options configure a mount.
type Options struct {
	// Backing is the directory served, opened by the caller before
	// mounting (for an in-place mount, the mountpoint itself). The mount
	// uses a duplicate of its descriptor; the caller keeps Backing.
	Backing    *os.File
	Mountpoint string
	FsName     string // source in /proc/mounts and df; default Backing.Name()
	AllowOther bool
	Reporter   change.Reporter // required
	// WriteInterval re-reports files kept open for writing at most this
	// often, when their size or mtime moved. 0 disables it.
	WriteInterval time.Duration
	// Kernel cache timeouts; 0 means 1s. Every change goes through this
	// mount (the backing directory is hidden or owned by us), so the kernel
	// may cache: without caching each stat and path walk costs a round
	// trip. 1s bounds staleness if the backing directory is changed
	// behind our back, as in go-fuse's loopback.
	EntryTimeout, AttrTimeout, NegativeTimeout time.Duration
	Debug                                      bool
	Logger                                     *slog.Logger

	noPassthrough bool      // tests: exercise the Read/Write fallback
	slow          slowFlags // TestFastpath: measure without these optimisations
}

// slowFlags turn optimisations off, so that TestFastpath can measure each
// against the same code without it.
type slowFlags uint

const (
	// slowKillpriv: do not negotiate FUSE_HANDLE_KILLPRIV_V2.
	slowKillpriv slowFlags = 1 << iota
	// slowDirCache: resolve directories from the root on every operation.
	slowDirCache
	// slowSymlinks: no FUSE_CACHE_SYMLINKS, a READLINK per resolution.
	slowSymlinks

	slowAll = ^slowFlags(0)
)

// Mount is a mounted filesystem.
type Mount struct {
	mountpoint string
	server     *fuse.Server
	direct     bool // mounted by mount(2), not fusermount3
	fd         int
	root       *root
	stop       context.CancelFunc
	done       chan struct{}
	closeOnce  sync.Once
}

const defaultTimeout = time.Second

// New mounts opts.Backing on opts.Mountpoint and returns once the kernel
// mount is usable.
func New(opts Options) (*Mount, error) {
	if opts.Backing == nil || opts.Reporter == nil || opts.Mountpoint == "" {
		return nil, errors.New("mirrorfs: fs.New needs a backing directory, a mountpoint and a reporter")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	fd, err := dupDir(opts.Backing)
	if err != nil {
		return nil, err
	}
	var st syscall.Stat_t
	btime, err := statAt(fd, "", &st)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("cannot stat backing directory %s: %w", opts.Backing.Name(), err)
	}
	r := &root{
		fd:      fd,
		dev:     st.Dev,
		isRoot:  isRootUser(),
		rep:     opts.Reporter,
		log:     logger,
		writers: newWriterSet(),
	}
	if opts.slow&slowDirCache == 0 {
		r.dirs = newDirCache(dirCacheSize)
	}
	rootAttr := r.stableAttr(&st, btime)
	fsName := opts.FsName
	if fsName == "" {
		fsName = opts.Backing.Name()
	}
	timeout := func(d time.Duration) *time.Duration {
		if d <= 0 {
			d = defaultTimeout
		}
		return &d
	}
	goLog := slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
	if !opts.Debug {
		goLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	}
	mopts := fuse.MountOptions{
		Name:        "mirrorfs",
		FsName:      fsName,
		Options:     []string{"default_permissions"},
		AllowOther:  opts.AllowOther,
		DirectMount: r.isRoot,
		EnableLocks: true,
		// A symlink's target never changes: replacing it makes a new
		// inode, so the kernel may keep the target in its page cache
		// instead of asking on every path walk through it.
		EnableSymlinkCaching: opts.slow&slowSymlinks == 0,
		Debug:                opts.Debug,
		Logger:               goLog,
	}
	if opts.slow&slowKillpriv == 0 {
		// The kernel stops asking for security.capability before every
		// write (it caches the negative answer as S_NOSEC until the
		// next attribute refresh) and leaves clearing setuid/setgid to
		// us: see killPrivs.
		mopts.ExtraCapabilities |= fuse.CAP_HANDLE_KILLPRIV_V2
	}
	if opts.noPassthrough {
		mopts.DisabledCapabilities = fuse.CAP_PASSTHROUGH
	}
	server, err := gofs.Mount(opts.Mountpoint, &node{r: r}, &gofs.Options{
		MountOptions:    mopts,
		EntryTimeout:    timeout(opts.EntryTimeout),
		AttrTimeout:     timeout(opts.AttrTimeout),
		NegativeTimeout: timeout(opts.NegativeTimeout),
		RootStableAttr:  &rootAttr,
		// The backing directory's modes, 0000 included: go-fuse would
		// otherwise show a file created with mode 0000 as 0644.
		NullPermissions: true,
		Logger:          log.New(goLog.Writer(), "", 0),
	})
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("cannot mount %s on %s: %w", fsName, opts.Mountpoint, err)
	}
	ctx, stop := context.WithCancel(context.Background())
	m := &Mount{
		mountpoint: opts.Mountpoint,
		server:     server,
		direct:     r.isRoot,
		fd:         fd,
		root:       r,
		stop:       stop,
		done:       make(chan struct{}),
	}
	if opts.WriteInterval > 0 {
		go r.writers.run(ctx, opts.WriteInterval)
	}
	go func() {
		server.Wait()
		m.finish()
	}()
	return m, nil
}

// dupDir duplicates the backing directory's descriptor (close-on-exec).
func dupDir(f *os.File) (int, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("backing directory %s: %w", f.Name(), err)
	}
	fd := -1
	cerr := sc.Control(func(raw uintptr) {
		fd, err = unix.FcntlInt(raw, unix.F_DUPFD_CLOEXEC, 3)
	})
	if cerr != nil {
		err = cerr
	}
	if err != nil {
		return -1, fmt.Errorf("cannot duplicate the descriptor of backing directory %s: %w", f.Name(), err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		unix.Close(fd)
		return -1, fmt.Errorf("backing %s is not a directory", f.Name())
	}
	return fd, nil
}

func (m *Mount) finish() {
	m.closeOnce.Do(func() {
		m.stop()
		if m.root.dirs != nil {
			m.root.dirs.clear()
		}
		unix.Close(m.fd)
		close(m.done)
	})
}

// Mountpoint is where the filesystem is mounted.
func (m *Mount) Mountpoint() string { return m.mountpoint }

// Wait blocks until the filesystem is unmounted, by Unmount, umount(8) or
// fusermount3 -u, and the server has stopped.
func (m *Mount) Wait() { <-m.done }

// Unmount unmounts the filesystem and waits for the server to stop. A
// mount still in use fails with an error matching syscall.EBUSY.
func (m *Mount) Unmount() error {
	return m.unmount(false)
}

// UnmountLazy detaches the mount now (MNT_DETACH); the server stops when
// the last open file on it is closed.
func (m *Mount) UnmountLazy() error {
	return m.unmount(true)
}

func (m *Mount) unmount(lazy bool) error {
	select {
	case <-m.done:
		return nil
	default:
	}
	var err error
	if m.direct {
		flags := 0
		if lazy {
			flags = unix.MNT_DETACH
		}
		err = unix.Unmount(m.mountpoint, flags)
		if err == unix.EINVAL {
			// Not mounted (any more): someone else unmounted it.
			err = nil
		}
	} else {
		err = fusermountU(m.mountpoint, lazy)
	}
	if err != nil {
		if errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("cannot unmount %s: it is in use (close the files and leave the directories open on it, or unmount lazily): %w", m.mountpoint, err)
		}
		return fmt.Errorf("cannot unmount %s: %w", m.mountpoint, err)
	}
	if !lazy {
		m.Wait()
	}
	return nil
}

// fusermountU runs fusermount3 -u [-z], mapping "busy" to EBUSY.
func fusermountU(mnt string, lazy bool) error {
	args := []string{"-u"}
	if lazy {
		args = append(args, "-z")
	}
	var stderr bytes.Buffer
	cmd := exec.Command("fusermount3", append(args, "--", mnt)...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "busy") {
			return fmt.Errorf("fusermount3: %s: %w", msg, syscall.EBUSY)
		}
		return fmt.Errorf("fusermount3 %s: %s: %w", strings.Join(args, " "), msg, err)
	}
	return nil
}
