package fs

import (
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// chunkMax bounds the path handed to one openat2 call; PATH_MAX (4096,
// including the NUL) applies per call, not to the depth we can reach.
const chunkMax = 4000

var noOpenat2 atomic.Bool // kernel older than 5.6

// dirRef is a directory descriptor that may or may not be ours to close,
// or a reference to one in the dirCache.
type dirRef struct {
	fd    int
	owned bool
	ent   *dirEntry
	cache *dirCache
}

func (d dirRef) close() {
	switch {
	case d.ent != nil:
		d.cache.release(d.ent)
	case d.owned:
		unix.Close(d.fd)
	}
}

// openDir opens rel (a slash-separated path of directories below base,
// "" for base itself) as an O_PATH descriptor. It refuses symlinks and
// anything escaping base.
func openDir(base int, rel string) (dirRef, error) {
	cur := dirRef{fd: base}
	for rel != "" {
		part, rest := rel, ""
		if len(part) > chunkMax {
			i := strings.LastIndexByte(rel[:chunkMax], '/')
			if i <= 0 {
				cur.close()
				return dirRef{}, syscall.ENAMETOOLONG
			}
			part, rest = rel[:i], rel[i+1:]
		}
		fd, err := openBeneath(cur.fd, part)
		cur.close()
		if err != nil {
			return dirRef{}, err
		}
		cur = dirRef{fd: fd, owned: true}
		rel = rest
	}
	return cur, nil
}

func openBeneath(dirfd int, path string) (int, error) {
	const flags = unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC | unix.O_NOFOLLOW
	if !noOpenat2.Load() {
		how := unix.OpenHow{
			Flags:   flags,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		}
		for {
			fd, err := unix.Openat2(dirfd, path, &how)
			switch err {
			case unix.EINTR, unix.EAGAIN: // EAGAIN: a concurrent rename raced the lookup
				continue
			case unix.ENOSYS:
				noOpenat2.Store(true)
			default:
				return fd, err
			}
			break
		}
	}
	return walkNoFollow(dirfd, path, flags)
}

// walkNoFollow is the fallback for kernels without openat2: one openat per
// component, each refusing symlinks. Names come from the FUSE tree, which
// never holds "." or "..".
func walkNoFollow(dirfd int, path string, flags int) (int, error) {
	cur := dirRef{fd: dirfd}
	for _, name := range strings.Split(path, "/") {
		fd, err := unix.Openat(cur.fd, name, flags, 0)
		cur.close()
		if err != nil {
			return -1, err
		}
		cur = dirRef{fd: fd, owned: true}
	}
	return cur.fd, nil
}

// splitPath splits a relative path into its directory and last name.
func splitPath(rel string) (dir, name string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

// joinPath joins a directory path ("" for the root) and a name.
func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// reportPath turns an internal relative path ("" for the root) into the
// Reporter's form ("." for the root).
func reportPath(rel string) string {
	if rel == "" {
		return "."
	}
	return rel
}
