package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// dirHandle is go-fuse's loopback directory stream plus Getattr on its
// descriptor: fstat on an open directory must work after the directory
// was renamed over or removed, when it has no path any more.
type dirHandle struct {
	gofs.FileReaddirenter
	gofs.FileSeekdirer
	gofs.FileReleasedirer
	gofs.FileFsyncdirer
	fd int // owned by the stream; go-fuse waits for Getattr before Releasedir
}

var _ = (gofs.FileGetattrer)((*dirHandle)(nil))

func newDirHandle(ds gofs.DirStream, fd int) *dirHandle {
	// The loopback stream implements all four; a missing one would be a
	// go-fuse change we want to see in the tests.
	return &dirHandle{
		FileReaddirenter: ds.(gofs.FileReaddirenter),
		FileSeekdirer:    ds.(gofs.FileSeekdirer),
		FileReleasedirer: ds.(gofs.FileReleasedirer),
		FileFsyncdirer:   ds.(gofs.FileFsyncdirer),
		fd:               fd,
	}
}

func (d *dirHandle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	var st syscall.Stat_t
	if err := syscall.Fstat(d.fd, &st); err != nil {
		return gofs.ToErrno(err)
	}
	out.FromStat(&st)
	return 0
}
