package fs

import (
	"context"
	"os"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// file is an open file. go-fuse's LoopbackFile does the I/O and hands the
// descriptor to the kernel for passthrough; file adds what mirroring needs:
// with passthrough the daemon never sees a write, so a writable handle
// reports OpWrite when it is flushed (the application's close) and
// released.
type file struct {
	*gofs.LoopbackFile
	n        *node
	fd       int  // the LoopbackFile's descriptor, valid until Release
	writable bool // counts as a writer of n
	flushed  bool // a close has flushed it (n.mu)
}

var (
	_ = (gofs.FileHandle)((*file)(nil))
	_ = (gofs.FilePassthroughFder)((*file)(nil))
	_ = (gofs.FileReader)((*file)(nil))
	_ = (gofs.FileWriter)((*file)(nil))
	_ = (gofs.FileFlusher)((*file)(nil))
	_ = (gofs.FileReleaser)((*file)(nil))
	_ = (gofs.FileAllocater)((*file)(nil))
	_ = (gofs.FileSetattrer)((*file)(nil))
	_ = (gofs.FileGetattrer)((*file)(nil))
	_ = (gofs.FileLseeker)((*file)(nil))
	_ = (gofs.FileGetlker)((*file)(nil))
	_ = (gofs.FileSetlkwer)((*file)(nil))
	_ = (gofs.FileIoctler)((*file)(nil))
)

// openFlags strips what the kernel already handled: the kernel passes
// explicit offsets (O_APPEND would make pwrite ignore them) and did the
// exec permission check.
func openFlags(flags uint32) int {
	return int(flags&^(syscall.O_APPEND|fuse.FMODE_EXEC|syscall.O_CREAT|syscall.O_EXCL)) | unix.O_CLOEXEC
}

func isWriteOpen(flags uint32) bool {
	return flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0
}

// newFile wraps fd (now owned by the handle) and registers it with n.
// writable handles mark n dirty; st, if known, is the file's current state.
func (n *node) newFile(fd int, writable bool, st *syscall.Stat_t) *file {
	f := &file{
		LoopbackFile: gofs.NewLoopbackFileFromOS(os.NewFile(uintptr(fd), "")),
		n:            n,
		fd:           fd,
		writable:     writable,
	}
	n.opened(f, st)
	return f
}

func (f *file) Flush(ctx context.Context) syscall.Errno {
	errno := f.LoopbackFile.Flush(ctx)
	if f.writable {
		f.n.checkWrite(f, true)
	}
	return errno
}

func (f *file) Release(ctx context.Context) syscall.Errno {
	f.n.released(f)
	return f.LoopbackFile.Release(ctx)
}

func (f *file) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	if errno := f.LoopbackFile.Allocate(ctx, off, size, mode); errno != 0 {
		return errno
	}
	f.n.markDirty()
	f.n.changed(change.OpWrite)
	return 0
}

func (f *file) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return f.n.Setattr(ctx, f, in, out)
}

func (f *file) stat(st *syscall.Stat_t) error {
	return syscall.Fstat(f.fd, st)
}
