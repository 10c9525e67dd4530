package fs

import (
	"context"
	"log/slog"
	"os"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// root is the state shared by all nodes of one mount.
type root struct {
	fd      int    // our dup of the backing directory
	dev     uint64 // st_dev of the backing directory
	isRoot  bool   // running as root: hand new objects to the caller
	rep     change.Reporter
	log     *slog.Logger
	writers *writerSet
	dirs    *dirCache // nil: resolve every directory from the root
}

func (r *root) report(c change.Change) {
	r.rep.Report(c)
}

// own gives a new object the caller's uid and gid when we run as root (the
// backing filesystem made it ours), keeping the group of a setgid parent
// directory as the kernel would, and restores mode bits that our own umask
// or the chown cleared. fd is the new object if open, else -1. st is
// refreshed if anything changed.
func (r *root) own(ctx context.Context, dirfd int, name string, fd int, mode uint32, st *syscall.Stat_t) {
	ftype := st.Mode & syscall.S_IFMT
	want := mode & 07777
	changed, force := false, false
	if c, ok := fuse.FromContext(ctx); ok && r.isRoot {
		gid := int(c.Gid)
		var pst syscall.Stat_t
		if syscall.Fstat(dirfd, &pst) == nil && pst.Mode&syscall.S_ISGID != 0 {
			gid = -1
			if ftype == syscall.S_IFDIR {
				want |= syscall.S_ISGID
			}
		}
		// A root caller already owns what we made: skip the chown and the
		// stat after it (two syscalls on every create).
		if st.Uid != c.Uid || gid != -1 && st.Gid != uint32(gid) {
			var err error
			if fd >= 0 {
				err = unix.Fchown(fd, int(c.Uid), gid)
			} else {
				err = unix.Fchownat(dirfd, name, int(c.Uid), gid, unix.AT_SYMLINK_NOFOLLOW)
			}
			if err != nil {
				r.log.Warn("cannot give a new object to its creator", "name", name, "uid", c.Uid, "err", err)
			}
			changed = true
			if ftype != syscall.S_IFDIR && want&(syscall.S_ISUID|syscall.S_ISGID) != 0 {
				force = true // chown cleared them
			}
		}
	}
	if ftype != syscall.S_IFLNK && (force || st.Mode&07777 != want) {
		if fd >= 0 {
			unix.Fchmod(fd, want)
		} else {
			unix.Fchmodat(dirfd, name, want, 0)
		}
		changed = true
	}
	if changed {
		if fd >= 0 {
			statAt(fd, "", st)
		} else {
			statAt(dirfd, name, st)
		}
	}
}

func isRootUser() bool { return os.Geteuid() == 0 }
