package fs

import (
	"context"
	"strconv"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

var (
	_ = (gofs.NodeOpener)((*node)(nil))
	_ = (gofs.NodeCreater)((*node)(nil))
	_ = (gofs.NodeTmpfiler)((*node)(nil))
	_ = (gofs.NodeMkdirer)((*node)(nil))
	_ = (gofs.NodeMknoder)((*node)(nil))
	_ = (gofs.NodeSymlinker)((*node)(nil))
	_ = (gofs.NodeLinker)((*node)(nil))
)

// procFd names an open descriptor so that calls without an fd variant can
// reach it; the path stays short whatever the depth of the file.
func procFd(fd int) string {
	return "/proc/self/fd/" + strconv.Itoa(fd)
}

func (n *node) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	fl := openFlags(flags) | unix.O_NOFOLLOW
	d, name, errno := n.at()
	var fd int
	var err error
	switch {
	case errno == syscall.ENOENT:
		// In no directory, but still open (reopened through /proc/PID/fd).
		errno = n.anyHandle(func(hfd int) syscall.Errno {
			fd, err = unix.Open(procFd(hfd), fl&^unix.O_NOFOLLOW, 0)
			return gofs.ToErrno(err)
		})
		if errno != 0 {
			return nil, 0, errno
		}
	case errno != 0:
		return nil, 0, errno
	default:
		fd, err = unix.Openat(d.fd, name, fl, 0)
		d.close()
		if err != nil {
			return nil, 0, gofs.ToErrno(err)
		}
	}
	return n.newFile(fd, isWriteOpen(flags), nil), 0, 0
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	d, rel, errno := n.dir()
	if errno != 0 {
		return nil, nil, 0, errno
	}
	defer d.close()
	fd, err := unix.Openat(d.fd, name, openFlags(flags)|unix.O_CREAT|unix.O_NOFOLLOW, mode)
	if err != nil {
		return nil, nil, 0, gofs.ToErrno(err)
	}
	var st syscall.Stat_t
	btime, err := statAt(fd, "", &st)
	if err != nil {
		unix.Close(fd)
		return nil, nil, 0, gofs.ToErrno(err)
	}
	n.r.own(ctx, d.fd, name, fd, mode, &st)
	child := n.newChild(ctx, &st, btime)
	f := child.Operations().(*node).newFile(fd, true, &st)
	out.FromStat(&st)
	child.Operations().(*node).noteWriting(f.writable)
	n.r.report(change.Change{Op: change.OpCreate, Path: joinPath(rel, name), Writing: f.writable})
	return child, f, 0, 0
}

// Tmpfile creates an unnamed file. Its node stays in no directory until
// Link names it, using the open handle.
func (n *node) Tmpfile(ctx context.Context, flags, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	d, errno := n.dirFd()
	if errno != 0 {
		return nil, nil, 0, errno
	}
	defer d.close()
	fd, err := unix.Openat(d.fd, ".", openFlags(flags)|unix.O_TMPFILE, mode)
	if err != nil {
		return nil, nil, 0, gofs.ToErrno(err)
	}
	var st syscall.Stat_t
	btime, err := statAt(fd, "", &st)
	if err != nil {
		unix.Close(fd)
		return nil, nil, 0, gofs.ToErrno(err)
	}
	n.r.own(ctx, d.fd, "", fd, mode, &st)
	child := n.newChild(ctx, &st, btime)
	f := child.Operations().(*node).newFile(fd, true, &st)
	out.FromStat(&st)
	return child, f, 0, 0
}

// made finishes the creation of name in d: ownership, stat, Inode, report.
// undo removes the object if it cannot be stat'ed.
func (n *node) made(ctx context.Context, d dirRef, rel, name string, mode uint32, op change.Op, out *fuse.EntryOut, undo int) (*gofs.Inode, syscall.Errno) {
	var st syscall.Stat_t
	btime, err := statAt(d.fd, name, &st)
	if err != nil {
		unix.Unlinkat(d.fd, name, undo)
		return nil, gofs.ToErrno(err)
	}
	n.r.own(ctx, d.fd, name, -1, mode, &st)
	child := n.newChild(ctx, &st, btime)
	out.Attr.FromStat(&st)
	n.r.report(change.Change{Op: op, Path: joinPath(rel, name), Dir: op == change.OpMkdir})
	return child, 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	d, rel, errno := n.dir()
	if errno != 0 {
		return nil, errno
	}
	defer d.close()
	if err := unix.Mkdirat(d.fd, name, mode); err != nil {
		return nil, gofs.ToErrno(err)
	}
	return n.made(ctx, d, rel, name, mode|syscall.S_IFDIR, change.OpMkdir, out, unix.AT_REMOVEDIR)
}

func (n *node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	d, rel, errno := n.dir()
	if errno != 0 {
		return nil, errno
	}
	defer d.close()
	if err := unix.Mknodat(d.fd, name, mode, int(rdev)); err != nil {
		return nil, gofs.ToErrno(err)
	}
	op := change.OpMknod
	if mode&syscall.S_IFMT == syscall.S_IFREG {
		op = change.OpCreate
	}
	return n.made(ctx, d, rel, name, mode, op, out, 0)
}

func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	d, rel, errno := n.dir()
	if errno != 0 {
		return nil, errno
	}
	defer d.close()
	if err := unix.Symlinkat(target, d.fd, name); err != nil {
		return nil, gofs.ToErrno(err)
	}
	return n.made(ctx, d, rel, name, syscall.S_IFLNK|0777, change.OpSymlink, out, 0)
}

// Link adds a name to target. A target in no directory (an O_TMPFILE, or
// an unlinked file still open) is linked through its open handle and
// reported as created.
func (n *node) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	tn, ok := target.(*node)
	if !ok || tn.r != n.r {
		return nil, syscall.EXDEV
	}
	d, rel, errno := n.dir()
	if errno != 0 {
		return nil, errno
	}
	defer d.close()

	c := change.Change{Op: change.OpLink, Path: joinPath(rel, name)}
	td, tname, trel, errno := tn.atRel()
	switch {
	case errno == syscall.ENOENT:
		errno = tn.anyHandle(func(fd int) syscall.Errno {
			return gofs.ToErrno(unix.Linkat(unix.AT_FDCWD, procFd(fd), d.fd, name, unix.AT_SYMLINK_FOLLOW))
		})
		c.Op = change.OpCreate
	case errno == 0:
		errno = gofs.ToErrno(unix.Linkat(td.fd, tname, d.fd, name, 0))
		td.close()
		c.From = reportPath(trel)
	}
	if errno != 0 {
		return nil, errno
	}

	var st syscall.Stat_t
	btime, err := statAt(d.fd, name, &st)
	if err != nil {
		unix.Unlinkat(d.fd, name, 0)
		return nil, gofs.ToErrno(err)
	}
	child := n.newChild(ctx, &st, btime)
	out.Attr.FromStat(&st)
	tn.mu.Lock()
	c.Writing = tn.activeWritersLocked(nil) > 0
	tn.ws.wasWriting = tn.ws.wasWriting || c.Writing
	tn.mu.Unlock()
	n.r.report(c)
	return child, 0
}
