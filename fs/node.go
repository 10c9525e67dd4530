package fs

import (
	"context"
	"slices"
	"strings"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// node is one file, directory or other object of the mount. It holds no
// path or descriptor of its own: its location is its place in go-fuse's
// tree, resolved below the backing root on every operation.
type node struct {
	gofs.Inode
	r *root

	mu sync.Mutex
	ws writeState // guarded by mu

	dent *dirEntry // cached descriptor of a directory; guarded by r.dirs.mu
}

var (
	_ = (gofs.NodeLookuper)((*node)(nil))
	_ = (gofs.NodeGetattrer)((*node)(nil))
	_ = (gofs.NodeStatxer)((*node)(nil))
	_ = (gofs.NodeStatfser)((*node)(nil))
	_ = (gofs.NodeReadlinker)((*node)(nil))
	_ = (gofs.NodeOpendirHandler)((*node)(nil))
	_ = (gofs.NodeOnForgetter)((*node)(nil))
)

// relPath is the node's path below the root ("" for the root itself). It
// is false for a node in no directory: an unlinked file still open, or an
// O_TMPFILE not linked yet.
func (n *node) relPath() (string, bool) {
	top := n.Root()
	var segs []string
	for p := &n.Inode; p != top; {
		name, parent := p.Parent()
		if parent == nil {
			return "", false
		}
		segs = append(segs, name)
		p = parent
	}
	slices.Reverse(segs)
	return strings.Join(segs, "/"), true
}

// dir opens the node as a directory to operate on its entries, and
// returns its path for reports.
func (n *node) dir() (dirRef, string, syscall.Errno) {
	rel, ok := n.relPath()
	if !ok {
		return dirRef{}, "", syscall.ENOENT
	}
	d, errno := n.dirAt(rel)
	return d, rel, errno
}

// dirFd is dir for callers that need no path: a cached descriptor spares
// walking the tree too.
func (n *node) dirFd() (dirRef, syscall.Errno) {
	if n.IsRoot() {
		return dirRef{fd: n.r.fd}, 0
	}
	if c := n.r.dirs; c != nil {
		if d, ok := c.get(n); ok {
			return d, 0
		}
	}
	rel, ok := n.relPath()
	if !ok {
		return dirRef{}, syscall.ENOENT
	}
	return n.dirAt(rel)
}

// dirAt opens the node, found at rel, as a directory: from the cache, or
// resolved below the root (and then cached).
func (n *node) dirAt(rel string) (dirRef, syscall.Errno) {
	if rel == "" {
		return dirRef{fd: n.r.fd}, 0
	}
	c := n.r.dirs
	if c != nil {
		if d, ok := c.get(n); ok {
			return d, 0
		}
	}
	d, err := openDir(n.r.fd, rel)
	if err != nil {
		return dirRef{}, gofs.ToErrno(err)
	}
	if c != nil && d.owned {
		return c.put(n, d.fd), 0
	}
	return d, 0
}

// at locates the node as (parent directory, name); for the root the name
// is "" and the directory is the root itself.
func (n *node) at() (dirRef, string, syscall.Errno) {
	if n.IsRoot() {
		return dirRef{fd: n.r.fd}, "", 0
	}
	name, parent := n.Parent()
	if parent == nil {
		return dirRef{}, "", syscall.ENOENT
	}
	d, errno := parent.Operations().(*node).dirFd()
	return d, name, errno
}

// atRel is at plus the node's path, for reports.
func (n *node) atRel() (dirRef, string, string, syscall.Errno) {
	rel, ok := n.relPath()
	if !ok {
		return dirRef{}, "", "", syscall.ENOENT
	}
	if rel == "" {
		return dirRef{fd: n.r.fd}, "", "", 0
	}
	dir, name := splitPath(rel)
	_, parent := n.Parent()
	if parent == nil {
		return dirRef{}, "", "", syscall.ENOENT
	}
	d, errno := parent.Operations().(*node).dirAt(dir)
	return d, name, rel, errno
}

// OnForget drops the node's cached directory descriptor.
func (n *node) OnForget() {
	if n.r.dirs != nil {
		n.r.dirs.forget(n)
	}
}

func (n *node) isDir() bool { return n.StableAttr().Mode == syscall.S_IFDIR }

// newChild wraps a freshly stat'ed backing object in an Inode.
func (n *node) newChild(ctx context.Context, st *syscall.Stat_t, btime syscall.Timespec) *gofs.Inode {
	return n.NewInode(ctx, &node{r: n.r}, n.r.stableAttr(st, btime))
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	d, errno := n.dirFd()
	if errno != 0 {
		return nil, errno
	}
	defer d.close()
	var st syscall.Stat_t
	btime, err := statAt(d.fd, name, &st)
	if err != nil {
		return nil, gofs.ToErrno(err)
	}
	out.Attr.FromStat(&st)
	return n.newChild(ctx, &st, btime), 0
}

func (n *node) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if fh, ok := f.(gofs.FileGetattrer); ok {
		return fh.Getattr(ctx, out)
	}
	d, name, errno := n.at()
	if errno != 0 {
		return errno
	}
	defer d.close()
	var st syscall.Stat_t
	if _, err := statAt(d.fd, name, &st); err != nil {
		return gofs.ToErrno(err)
	}
	out.FromStat(&st)
	return 0
}

func (n *node) Statx(ctx context.Context, f gofs.FileHandle, flags, mask uint32, out *fuse.StatxOut) syscall.Errno {
	if fh, ok := f.(gofs.FileStatxer); ok {
		return fh.Statx(ctx, flags, mask, out)
	}
	d, name, errno := n.at()
	if errno != 0 {
		return errno
	}
	defer d.close()
	fl := int(flags) | unix.AT_SYMLINK_NOFOLLOW
	if name == "" {
		fl |= unix.AT_EMPTY_PATH
	}
	var x unix.Statx_t
	if err := unix.Statx(d.fd, name, fl, int(mask), &x); err != nil {
		return gofs.ToErrno(err)
	}
	out.FromStatx(&x)
	return 0
}

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	var s syscall.Statfs_t
	if err := syscall.Fstatfs(n.r.fd, &s); err != nil {
		return gofs.ToErrno(err)
	}
	out.FromStatfsT(&s)
	return 0
}

func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	d, name, errno := n.at()
	if errno != 0 {
		return nil, errno
	}
	defer d.close()
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		k, err := unix.Readlinkat(d.fd, name, buf)
		if err != nil {
			return nil, gofs.ToErrno(err)
		}
		if k < size {
			return buf[:k], 0
		}
	}
}

func (n *node) OpendirHandle(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	d, name, errno := n.at()
	if errno != 0 {
		return nil, 0, errno
	}
	defer d.close()
	if name == "" {
		name = "."
	}
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, gofs.ToErrno(err)
	}
	ds, errno := gofs.NewLoopbackDirStreamFd(fd)
	if errno != 0 {
		unix.Close(fd)
		return nil, 0, errno
	}
	return newDirHandle(ds, fd), 0, 0
}
