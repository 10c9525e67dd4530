package rsyncproc

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// closeOnExecAll marks every descriptor above stderr close-on-exec before a
// child is started. Libraries in this process open some without it (go-fuse
// opens /dev/fuse and a /dev/null for splicing with plain open(2)), and an
// rsync holding /dev/fuse would keep a dead mount's connection alive. The
// descriptors a child must get are passed as ExtraFiles, which os/exec dups
// into place regardless of this flag.
func closeOnExecAll() {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return
	}
	self := int(d.Fd())
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd <= 2 || fd == self {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC != 0 {
			continue
		}
		unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags|unix.FD_CLOEXEC)
	}
}
