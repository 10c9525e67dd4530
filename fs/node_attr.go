package fs

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

var (
	_ = (gofs.NodeSetattrer)((*node)(nil))
	_ = (gofs.NodeGetxattrer)((*node)(nil))
	_ = (gofs.NodeSetxattrer)((*node)(nil))
	_ = (gofs.NodeRemovexattrer)((*node)(nil))
	_ = (gofs.NodeListxattrer)((*node)(nil))
	_ = (gofs.NodeCopyFileRanger)((*node)(nil))
)

// target is the object an attribute call acts on: (dirfd, name), or with
// an empty name the open descriptor dirfd itself.
type target struct {
	fd   int
	name string
}

func (t target) flags(f int) int {
	if t.name == "" {
		f |= unix.AT_EMPTY_PATH
	}
	return f
}

// withTarget runs fn on the node's backing object: through the handle
// when there is one, else through its parent directory, else (in no
// directory) through any open handle.
func (n *node) withTarget(f gofs.FileHandle, fn func(target) syscall.Errno) syscall.Errno {
	if fh, ok := f.(*file); ok {
		return fn(target{fd: fh.fd})
	}
	d, name, errno := n.at()
	if errno == syscall.ENOENT {
		return n.anyHandle(func(fd int) syscall.Errno { return fn(target{fd: fd}) })
	}
	if errno != 0 {
		return errno
	}
	defer d.close()
	return fn(target{fd: d.fd, name: name})
}

// withReadTarget is withTarget for reads, preferring an open handle: the
// kernel asks for security.capability on every write to an open file, and
// the handle spares resolving the parent each time.
func (n *node) withReadTarget(fn func(target) syscall.Errno) syscall.Errno {
	n.mu.Lock()
	for f := range n.ws.handles {
		defer n.mu.Unlock() // the handle cannot be released meanwhile
		return fn(target{fd: f.fd})
	}
	n.mu.Unlock()
	return n.withTarget(nil, fn)
}

func (n *node) Setattr(ctx context.Context, f gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	var st syscall.Stat_t
	kill := n.killRequested(in)
	killed := false
	errno := n.withTarget(f, func(t target) syscall.Errno {
		if errno := n.setattr(t, in); errno != 0 {
			return errno
		}
		if _, err := statAt(t.fd, t.name, &st); err != nil {
			return gofs.ToErrno(err)
		}
		if kill {
			if mode, ok := killedMode(ctx, &st); ok {
				if err := n.chmod(t, mode); err != nil {
					return gofs.ToErrno(err)
				}
				killed = true
				_, err := statAt(t.fd, t.name, &st)
				return gofs.ToErrno(err)
			}
		}
		return 0
	})
	if errno != 0 {
		return errno
	}
	out.FromStat(&st)
	const attrs = fuse.FATTR_MODE | fuse.FATTR_UID | fuse.FATTR_GID | fuse.FATTR_ATIME | fuse.FATTR_MTIME
	if in.Valid&attrs != 0 || killed {
		n.changed(change.OpSetattr)
	}
	if in.Valid&fuse.FATTR_SIZE != 0 {
		n.markDirty()
		n.changed(change.OpTruncate)
	}
	return 0
}

// killRequested tells whether a SETATTR asks us to clear setuid/setgid,
// the daemon's job under FUSE_HANDLE_KILLPRIV_V2 (kernel fs/fuse/dir.c):
//
//   - a truncate carrying FATTR_KILL_SUIDGID: the caller lacks
//     CAP_FSETID (our own ftruncate, as root, would keep the bits);
//   - a SETATTR with nothing to set on a regular file: what is left of the
//     VFS's ATTR_KILL_SUID/ATTR_KILL_SGID once fuse_setattr stripped them,
//     sent by file_remove_privs before a write by a caller without
//     CAP_FSETID (passthrough or not: the daemon never sees those writes)
//     and by chown(-1, -1).
//
// A chown carrying FATTR_KILL_SUIDGID needs nothing: our fchownat clears
// the bits on the backing file itself. security.capability is removed by
// the kernel (REMOVEXATTR) and by the backing filesystem on every write
// and truncate.
func (n *node) killRequested(in *fuse.SetAttrIn) bool {
	if n.StableAttr().Mode != syscall.S_IFREG {
		return false
	}
	if in.Valid&fuse.FATTR_KILL_SUIDGID != 0 && in.Valid&fuse.FATTR_SIZE != 0 {
		return true
	}
	const ignored = fuse.FATTR_FH | fuse.FATTR_LOCKOWNER | fuse.FATTR_CTIME | fuse.FATTR_KILL_SUIDGID
	return in.Valid&^ignored == 0
}

// killedMode is st's mode with setuid and setgid cleared as the VFS would
// for a caller without CAP_FSETID (setattr_should_drop_suidgid): setuid
// always, setgid when group-executable or the caller is not in the
// file's group. ok is false when nothing changes.
func killedMode(ctx context.Context, st *syscall.Stat_t) (mode uint32, ok bool) {
	mode = st.Mode & 07777
	if mode&syscall.S_ISUID != 0 {
		mode &^= syscall.S_ISUID
		ok = true
	}
	if mode&syscall.S_ISGID != 0 && (mode&syscall.S_IXGRP != 0 || !callerInGroup(ctx, st.Gid)) {
		mode &^= syscall.S_ISGID
		ok = true
	}
	return mode, ok
}

// callerInGroup: the caller's gid, its supplementary groups (from
// /proc/PID/status) or root, which may keep a non-executable setgid bit.
func callerInGroup(ctx context.Context, gid uint32) bool {
	c, ok := fuse.FromContext(ctx)
	if !ok {
		return true
	}
	if c.Uid == 0 || c.Gid == gid {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(c.Pid)) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Groups:"); ok {
			for _, g := range strings.Fields(rest) {
				if g == strconv.Itoa(int(gid)) {
					return true
				}
			}
		}
	}
	return false
}

func (n *node) setattr(t target, in *fuse.SetAttrIn) syscall.Errno {
	if mode, ok := in.GetMode(); ok {
		if err := n.chmod(t, mode); err != nil {
			return gofs.ToErrno(err)
		}
	}
	uid, uok := in.GetUID()
	gid, gok := in.GetGID()
	if uok || gok {
		u, g := -1, -1
		if uok {
			u = int(uid)
		}
		if gok {
			g = int(gid)
		}
		if err := unix.Fchownat(t.fd, t.name, u, g, t.flags(unix.AT_SYMLINK_NOFOLLOW)); err != nil {
			return gofs.ToErrno(err)
		}
	}
	// Truncate before setting times so an explicit mtime survives.
	if size, ok := in.GetSize(); ok {
		if err := truncateAt(t, int64(size)); err != nil {
			return gofs.ToErrno(err)
		}
	}
	if in.Valid&(fuse.FATTR_ATIME|fuse.FATTR_MTIME) != 0 {
		ts := []unix.Timespec{
			utime(in.Valid, fuse.FATTR_ATIME, fuse.FATTR_ATIME_NOW, in.Atime, in.Atimensec),
			utime(in.Valid, fuse.FATTR_MTIME, fuse.FATTR_MTIME_NOW, in.Mtime, in.Mtimensec),
		}
		if err := unix.UtimesNanoAt(t.fd, t.name, ts, t.flags(unix.AT_SYMLINK_NOFOLLOW)); err != nil {
			return gofs.ToErrno(err)
		}
	}
	return 0
}

func utime(valid, set, now uint32, sec uint64, nsec uint32) unix.Timespec {
	switch {
	case valid&set == 0:
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	case valid&now != 0:
		return unix.Timespec{Nsec: unix.UTIME_NOW}
	}
	return unix.Timespec{Sec: int64(sec), Nsec: int64(nsec)}
}

func (n *node) chmod(t target, mode uint32) error {
	if t.name == "" {
		return unix.Fchmod(t.fd, mode)
	}
	err := unix.Fchmodat(t.fd, t.name, mode, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.EOPNOTSUPP && n.StableAttr().Mode != syscall.S_IFLNK {
		// No fchmodat2 (Linux < 6.6); the node is no symlink, so the
		// plain call does not follow one.
		err = unix.Fchmodat(t.fd, t.name, mode, 0)
	}
	return err
}

// truncateAt truncates without a path-based truncate(2): through the open
// descriptor, or by opening the file for writing (never following a
// symlink, never blocking on a fifo).
func truncateAt(t target, size int64) error {
	if t.name == "" {
		return unix.Ftruncate(t.fd, size)
	}
	fd, err := unix.Openat(t.fd, t.name, unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Ftruncate(fd, size)
}

// xattr calls: the f* variants on a descriptor, else the l* variants on
// a short /proc/self/fd/DIR/NAME path, whatever the depth of the file.
func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	var sz int
	errno := n.withReadTarget(func(t target) syscall.Errno {
		var err error
		if t.name == "" {
			sz, err = unix.Fgetxattr(t.fd, attr, dest)
		} else {
			sz, err = unix.Lgetxattr(procFd(t.fd)+"/"+t.name, attr, dest)
		}
		return gofs.ToErrno(err)
	})
	return uint32(sz), errno
}

func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	var sz int
	errno := n.withReadTarget(func(t target) syscall.Errno {
		var err error
		if t.name == "" {
			sz, err = unix.Flistxattr(t.fd, dest)
		} else {
			sz, err = unix.Llistxattr(procFd(t.fd)+"/"+t.name, dest)
		}
		return gofs.ToErrno(err)
	})
	return uint32(sz), errno
}

func (n *node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	errno := n.withTarget(nil, func(t target) syscall.Errno {
		if t.name == "" {
			return gofs.ToErrno(unix.Fsetxattr(t.fd, attr, data, int(flags)))
		}
		return gofs.ToErrno(unix.Lsetxattr(procFd(t.fd)+"/"+t.name, attr, data, int(flags)))
	})
	if errno == 0 {
		n.changed(change.OpSetxattr)
	}
	return errno
}

func (n *node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	errno := n.withTarget(nil, func(t target) syscall.Errno {
		if t.name == "" {
			return gofs.ToErrno(unix.Fremovexattr(t.fd, attr))
		}
		return gofs.ToErrno(unix.Lremovexattr(procFd(t.fd)+"/"+t.name, attr))
	})
	if errno == 0 {
		n.changed(change.OpRemovexattr)
	}
	return errno
}

func (n *node) CopyFileRange(ctx context.Context, fhIn gofs.FileHandle, offIn uint64, out *gofs.Inode, fhOut gofs.FileHandle, offOut uint64, length uint64, flags uint64) (uint32, syscall.Errno) {
	in, ok1 := fhIn.(*file)
	dst, ok2 := fhOut.(*file)
	if !ok1 || !ok2 {
		return 0, syscall.ENOTSUP
	}
	oi, oo := int64(offIn), int64(offOut)
	k, err := unix.CopyFileRange(in.fd, &oi, dst.fd, &oo, int(length), int(flags))
	if err != nil {
		return 0, gofs.ToErrno(err)
	}
	dst.n.markDirty()
	dst.n.changed(change.OpWrite)
	return uint32(k), 0
}
