package fs

import (
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"golang.org/x/sys/unix"
)

// statAt stats name below dirfd without following a final symlink; an empty
// name stats dirfd itself. btime feeds the inode generation.
func statAt(dirfd int, name string, st *syscall.Stat_t) (btime syscall.Timespec, err error) {
	flags := unix.AT_SYMLINK_NOFOLLOW | unix.AT_STATX_SYNC_AS_STAT
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	var x unix.Statx_t
	for {
		err = unix.Statx(dirfd, name, flags, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &x)
		if err != unix.EINTR {
			break
		}
	}
	if err == unix.ENOSYS { // Linux < 4.11
		if name == "" {
			return btime, syscall.Fstat(dirfd, st)
		}
		fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return btime, err
		}
		defer unix.Close(fd)
		return btime, syscall.Fstat(fd, st)
	}
	if err != nil {
		return btime, err
	}
	st.Dev = unix.Mkdev(x.Dev_major, x.Dev_minor)
	st.Ino = x.Ino
	setNum(&st.Nlink, uint64(x.Nlink))
	setNum(&st.Mode, uint64(x.Mode))
	st.Uid = x.Uid
	st.Gid = x.Gid
	st.Rdev = unix.Mkdev(x.Rdev_major, x.Rdev_minor)
	st.Size = int64(x.Size)
	setNum(&st.Blksize, uint64(x.Blksize))
	setNum(&st.Blocks, x.Blocks)
	st.Atim = statxTime(x.Atime)
	st.Mtim = statxTime(x.Mtime)
	st.Ctim = statxTime(x.Ctime)
	if x.Mask&unix.STATX_BTIME != 0 {
		btime = statxTime(x.Btime)
	}
	return btime, nil
}

func statxTime(t unix.StatxTimestamp) syscall.Timespec {
	return syscall.Timespec{Sec: t.Sec, Nsec: int64(t.Nsec)}
}

// stableAttr derives the FUSE identity from the backing inode, so hard
// links share one Inode. The device is mixed in (and the root's masked
// out) so a backing tree spanning mounts does not alias inode numbers;
// the birth time tells a reused inode number apart.
func (r *root) stableAttr(st *syscall.Stat_t, btime syscall.Timespec) gofs.StableAttr {
	swap := func(d uint64) uint64 { return d<<32 | d>>32 }
	gen := uint64(1)
	if btime.Sec != 0 || btime.Nsec != 0 {
		gen = uint64(btime.Sec)*1e9 + uint64(btime.Nsec)
	}
	return gofs.StableAttr{
		Mode: st.Mode & syscall.S_IFMT,
		Ino:  swap(st.Dev) ^ swap(r.dev) ^ st.Ino,
		Gen:  gen,
	}
}

// setNum assigns across the per-architecture widths of Stat_t fields.
func setNum[T ~uint16 | ~uint32 | ~uint64 | ~int32 | ~int64](dst *T, v uint64) {
	*dst = T(v)
}
