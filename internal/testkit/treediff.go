package testkit

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// CompareOptions tunes TreeDiff. The zero value compares everything rsync -aH
// preserves, except user.* xattrs.
type CompareOptions struct {
	IgnoreDirMtime  bool // directory mtimes (e.g. when the test itself lists dirs)
	IgnoreRootMtime bool // only the top directory's mtime
	IgnoreRootMode  bool // only the top directory's mode/owner (a mountpoint vs. a module dir)
	IgnoreOwner     bool
	IgnoreHardLinks bool
	// ExactSpecialMtime compares mtimes of directories, symlinks and special
	// files to the nanosecond. By default they are compared to the second:
	// rsync (3.5.0) leaves such an mtime alone when it already agrees to the
	// second, so even a fresh rsync -a copy differs below that.
	ExactSpecialMtime bool
	// Xattrs also compares user.* extended attributes.
	Xattrs bool
	// ACLs also compares POSIX ACLs (system.posix_acl_access/_default).
	ACLs bool
	// Exclude skips an entry (and everything below it) on both sides.
	// rel is slash-separated and relative to the roots, e.g. "a/b".
	Exclude func(rel string) bool
}

// TreeDiff walks a and b without following symlinks and returns one
// human-readable line per difference; nil means equal. It works through
// directory descriptors, so paths longer than PATH_MAX are compared too.
func TreeDiff(a, b string, opts CompareOptions) []string {
	w := &walker{opts: opts, links: [2]map[inode][]string{{}, {}}, inodes: [2]map[string]inode{{}, {}}}
	fa, err := unix.Open(a, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return []string{fmt.Sprintf("cannot open %s: %v", a, err)}
	}
	defer unix.Close(fa)
	fb, err := unix.Open(b, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return []string{fmt.Sprintf("cannot open %s: %v", b, err)}
	}
	defer unix.Close(fb)

	var sa, sb unix.Stat_t
	if err := unix.Fstat(fa, &sa); err != nil {
		return []string{fmt.Sprintf("stat %s: %v", a, err)}
	}
	if err := unix.Fstat(fb, &sb); err != nil {
		return []string{fmt.Sprintf("stat %s: %v", b, err)}
	}
	w.compareEntry(".", fa, fb, "", &sa, &sb)
	w.walkDir(".", fa, fb)
	w.compareLinks()
	return w.diffs
}

type inode struct{ dev, ino uint64 }

type walker struct {
	opts   CompareOptions
	diffs  []string
	links  [2]map[inode][]string // side → inode → paths, for nlink > 1
	inodes [2]map[string]inode   // side → path → inode, for nlink > 1
}

func (w *walker) addf(rel, format string, args ...any) {
	w.diffs = append(w.diffs, fmt.Sprintf("%q: ", rel)+fmt.Sprintf(format, args...))
}

func join(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

func readNames(dirfd int) ([]string, error) {
	// Dup: os.File.Close would otherwise close the caller's descriptor.
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "dir")
	defer f.Close()
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

func (w *walker) walkDir(rel string, fa, fb int) {
	na, err := readNames(fa)
	if err != nil {
		w.addf(rel, "listing a: %v", err)
		return
	}
	nb, err := readNames(fb)
	if err != nil {
		w.addf(rel, "listing b: %v", err)
		return
	}
	i, j := 0, 0
	for i < len(na) || j < len(nb) {
		switch {
		case j >= len(nb) || (i < len(na) && na[i] < nb[j]):
			if p := join(rel, na[i]); !w.excluded(p) {
				w.addf(p, "only in a (%s)", describe(fa, na[i]))
			}
			i++
		case i >= len(na) || nb[j] < na[i]:
			if p := join(rel, nb[j]); !w.excluded(p) {
				w.addf(p, "only in b (%s)", describe(fb, nb[j]))
			}
			j++
		default:
			w.visit(join(rel, na[i]), fa, fb, na[i])
			i++
			j++
		}
	}
}

func (w *walker) excluded(rel string) bool {
	return w.opts.Exclude != nil && w.opts.Exclude(rel)
}

func describe(dirfd int, name string) string {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err.Error()
	}
	return typeName(st.Mode)
}

func (w *walker) visit(rel string, fa, fb int, name string) {
	if w.excluded(rel) {
		return
	}
	var sa, sb unix.Stat_t
	if err := unix.Fstatat(fa, name, &sa, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		w.addf(rel, "stat a: %v", err)
		return
	}
	if err := unix.Fstatat(fb, name, &sb, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		w.addf(rel, "stat b: %v", err)
		return
	}
	w.compareEntry(rel, fa, fb, name, &sa, &sb)
	if sa.Mode&unix.S_IFMT != unix.S_IFDIR || sb.Mode&unix.S_IFMT != unix.S_IFDIR {
		return
	}
	ca, err := unix.Openat(fa, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		w.addf(rel, "open a: %v", err)
		return
	}
	defer unix.Close(ca)
	cb, err := unix.Openat(fb, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		w.addf(rel, "open b: %v", err)
		return
	}
	defer unix.Close(cb)
	w.walkDir(rel, ca, cb)
}

// compareEntry compares one object. name is "" for the roots themselves,
// which are then fa and fb.
func (w *walker) compareEntry(rel string, fa, fb int, name string, sa, sb *unix.Stat_t) {
	ta, tb := sa.Mode&unix.S_IFMT, sb.Mode&unix.S_IFMT
	if ta != tb {
		w.addf(rel, "type differs: a is %s, b is %s", typeName(sa.Mode), typeName(sb.Mode))
		return
	}
	root := name == ""
	if !(root && w.opts.IgnoreRootMode) {
		if pa, pb := sa.Mode&^unix.S_IFMT, sb.Mode&^unix.S_IFMT; pa != pb && ta != unix.S_IFLNK {
			w.addf(rel, "mode differs: a %s, b %s", modeString(pa), modeString(pb))
		}
		if !w.opts.IgnoreOwner {
			if sa.Uid != sb.Uid {
				w.addf(rel, "uid differs: a %d, b %d", sa.Uid, sb.Uid)
			}
			if sa.Gid != sb.Gid {
				w.addf(rel, "gid differs: a %d, b %d", sa.Gid, sb.Gid)
			}
		}
	}
	skipMtime := (ta == unix.S_IFDIR && w.opts.IgnoreDirMtime) || (root && w.opts.IgnoreRootMtime)
	exact := ta == unix.S_IFREG || w.opts.ExactSpecialMtime
	if !skipMtime && (sa.Mtim.Sec != sb.Mtim.Sec || (exact && sa.Mtim.Nsec != sb.Mtim.Nsec)) {
		w.addf(rel, "mtime differs: a %s, b %s", fmtTime(sa.Mtim), fmtTime(sb.Mtim))
	}
	switch ta {
	case unix.S_IFREG:
		if sa.Size != sb.Size {
			w.addf(rel, "size differs: a %d, b %d", sa.Size, sb.Size)
		} else if msg := compareContent(fa, fb, name); msg != "" {
			w.addf(rel, "%s", msg)
		}
	case unix.S_IFLNK:
		la, erra := readlinkat(fa, name)
		lb, errb := readlinkat(fb, name)
		if erra != nil || errb != nil {
			w.addf(rel, "readlink: a %v, b %v", erra, errb)
		} else if la != lb {
			w.addf(rel, "symlink target differs: a %q, b %q", la, lb)
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		if sa.Rdev != sb.Rdev {
			w.addf(rel, "device differs: a %d:%d, b %d:%d",
				unix.Major(sa.Rdev), unix.Minor(sa.Rdev), unix.Major(sb.Rdev), unix.Minor(sb.Rdev))
		}
	}
	if (w.opts.Xattrs || w.opts.ACLs) && ta != unix.S_IFLNK {
		w.compareXattrs(rel, fa, fb, name)
	}
	if ta != unix.S_IFDIR && !w.opts.IgnoreHardLinks {
		w.noteLink(0, rel, sa)
		w.noteLink(1, rel, sb)
	}
}

func (w *walker) noteLink(side int, rel string, st *unix.Stat_t) {
	if st.Nlink < 2 {
		return
	}
	k := inode{st.Dev, st.Ino}
	w.links[side][k] = append(w.links[side][k], rel)
	w.inodes[side][rel] = k
}

// compareLinks checks that every hard-link group seen on one side is the
// same set of paths on the other side.
func (w *walker) compareLinks() {
	seen := map[string]bool{}
	for side := range 2 {
		for _, group := range w.links[side] {
			sort.Strings(group)
			key := strings.Join(group, "\x00")
			if seen[key] {
				continue
			}
			seen[key] = true
			other := w.links[1-side][w.inodes[1-side][group[0]]]
			if _, ok := w.inodes[1-side][group[0]]; !ok {
				other = []string{group[0]}
			}
			sort.Strings(other)
			if !slices.Equal(group, other) {
				sides := "ab"
				w.addf(group[0], "hard-link group differs: %c links %q, %c links %q",
					sides[side], group, sides[1-side], other)
				seen[strings.Join(other, "\x00")] = true
			}
		}
	}
}

func compareContent(fa, fb int, name string) string {
	ra, err := openFile(fa, name)
	if err != nil {
		return "open a: " + err.Error()
	}
	defer ra.Close()
	rb, err := openFile(fb, name)
	if err != nil {
		return "open b: " + err.Error()
	}
	defer rb.Close()
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	var off int64
	for {
		na, erra := io.ReadFull(ra, ba)
		nb, errb := io.ReadFull(rb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			for i := 0; i < min(na, nb); i++ {
				if ba[i] != bb[i] {
					return fmt.Sprintf("content differs from byte %d", off+int64(i))
				}
			}
			return fmt.Sprintf("content differs from byte %d (lengths while reading)", off+int64(min(na, nb)))
		}
		off += int64(na)
		if erra != nil || errb != nil {
			if (erra == io.EOF || erra == io.ErrUnexpectedEOF) && (errb == io.EOF || errb == io.ErrUnexpectedEOF) {
				return ""
			}
			return fmt.Sprintf("reading: a %v, b %v", erra, errb)
		}
	}
}

// openFile opens name below dirfd, or dirfd itself when name is "".
func openFile(dirfd int, name string) (*os.File, error) {
	if name == "" {
		name = "."
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

func readlinkat(dirfd int, name string) (string, error) {
	buf := make([]byte, unix.PathMax+1)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func (w *walker) compareXattrs(rel string, fa, fb int, name string) {
	keep := func(k string) bool {
		return (w.opts.Xattrs && strings.HasPrefix(k, "user.")) ||
			(w.opts.ACLs && strings.HasPrefix(k, "system.posix_acl_"))
	}
	xa, erra := readXattrs(fa, name, keep)
	xb, errb := readXattrs(fb, name, keep)
	if erra != nil || errb != nil {
		w.addf(rel, "xattrs: a %v, b %v", erra, errb)
		return
	}
	for k, va := range xa {
		if vb, ok := xb[k]; !ok {
			w.addf(rel, "xattr %s only in a", k)
		} else if va != vb {
			w.addf(rel, "xattr %s differs: a %q, b %q", k, va, vb)
		}
	}
	for k := range xb {
		if _, ok := xa[k]; !ok {
			w.addf(rel, "xattr %s only in b", k)
		}
	}
}

// readXattrs reads the attributes keep selects through an O_PATH descriptor and its
// /proc/self/fd link, which needs neither a short path nor a readable file
// (fifos would block on a plain open).
func readXattrs(dirfd int, name string, keep func(string) bool) (map[string]string, error) {
	if name == "" {
		name = "."
	}
	fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	p := fmt.Sprintf("/proc/self/fd/%d", fd)
	size, err := unix.Listxattr(p, nil)
	if err != nil || size == 0 {
		return nil, ignoreNotSup(err)
	}
	buf := make([]byte, size)
	size, err = unix.Listxattr(p, buf)
	if err != nil {
		return nil, ignoreNotSup(err)
	}
	out := map[string]string{}
	for _, k := range strings.Split(string(buf[:size]), "\x00") {
		if k == "" || !keep(k) {
			continue
		}
		v := make([]byte, 64<<10)
		n, err := unix.Getxattr(p, k, v)
		if err != nil {
			return nil, fmt.Errorf("getxattr %s: %w", k, err)
		}
		out[k] = string(v[:n])
	}
	return out, nil
}

func ignoreNotSup(err error) error {
	if err == unix.ENOTSUP {
		return nil
	}
	return err
}

func typeName(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFCHR:
		return "char device"
	case unix.S_IFBLK:
		return "block device"
	}
	return fmt.Sprintf("type %o", mode&unix.S_IFMT)
}

func modeString(perm uint32) string {
	return fmt.Sprintf("%04o (%v)", perm, os.FileMode(perm&0o777)|goModeBits(perm))
}

func goModeBits(perm uint32) os.FileMode {
	var m os.FileMode
	if perm&unix.S_ISUID != 0 {
		m |= os.ModeSetuid
	}
	if perm&unix.S_ISGID != 0 {
		m |= os.ModeSetgid
	}
	if perm&unix.S_ISVTX != 0 {
		m |= os.ModeSticky
	}
	return m
}

func fmtTime(ts unix.Timespec) string {
	return fmt.Sprintf("%d.%09d", ts.Sec, ts.Nsec)
}
