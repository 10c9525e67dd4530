package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

var (
	_ = (gofs.NodeUnlinker)((*node)(nil))
	_ = (gofs.NodeRmdirer)((*node)(nil))
	_ = (gofs.NodeRenamer)((*node)(nil))
)

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	return n.remove(name, 0, change.OpUnlink)
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	return n.remove(name, unix.AT_REMOVEDIR, change.OpRmdir)
}

func (n *node) remove(name string, flags int, op change.Op) syscall.Errno {
	d, rel, errno := n.dir()
	if errno != 0 {
		return errno
	}
	defer d.close()
	open := op == change.OpUnlink && n.openForWriting(name)
	if err := unix.Unlinkat(d.fd, name, flags); err != nil {
		return gofs.ToErrno(err)
	}
	n.r.report(change.Change{Op: op, Path: joinPath(rel, name), Dir: op == change.OpRmdir, Open: open})
	return 0
}

// Rename handles plain renames, RENAME_NOREPLACE and RENAME_EXCHANGE
// (RENAME_WHITEOUT is passed through for overlayfs on top of us).
func (n *node) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np, ok := newParent.(*node)
	if !ok || np.r != n.r {
		return syscall.EXDEV
	}
	d1, rel1, errno := n.dir()
	if errno != 0 {
		return errno
	}
	defer d1.close()
	d2, rel2 := d1, rel1
	if np != n {
		if d2, rel2, errno = np.dir(); errno != 0 {
			return errno
		}
		defer d2.close()
	}
	op := change.OpRename
	if flags&unix.RENAME_EXCHANGE != 0 {
		op = change.OpExchange
	}
	open := op == change.OpRename && np.openForWriting(newName) // the file it replaces
	if err := unix.Renameat2(d1.fd, name, d2.fd, newName, uint(flags)); err != nil {
		return gofs.ToErrno(err)
	}
	n.r.report(change.Change{Op: op, Path: joinPath(rel2, newName), From: joinPath(rel1, name), Dir: n.childIsDir(d1.fd, name, d2.fd, newName), Open: open})
	return 0
}

// childIsDir tells whether the object moved away from name (now at
// newName in d2) is a directory; the kernel looked it up before the rename.
func (n *node) childIsDir(d1 int, name string, d2 int, newName string) bool {
	if ch := n.GetChild(name); ch != nil {
		return ch.IsDir()
	}
	var st syscall.Stat_t
	if _, err := statAt(d2, newName, &st); err == nil {
		return st.Mode&syscall.S_IFMT == syscall.S_IFDIR
	}
	return false
}
