package fs

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

const (
	longComp  = "component-of-a-long-path-" // padded to 200 bytes below
	longDepth = 25                          // 25 × 201 bytes: well over PATH_MAX
)

func longName(i int) string {
	return fmt.Sprintf("%s%03d", longComp, i) + strings.Repeat("x", 200-len(longComp)-3)
}

// walkDown opens (creating if asked) the long chain of directories below
// base with one *at call per component, as Go's os package cannot.
func walkDown(t *testing.T, base string, create bool) int {
	t.Helper()
	fd, err := unix.Open(base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	must(t, err)
	for i := range longDepth {
		if create {
			must(t, unix.Mkdirat(fd, longName(i), 0o755))
		}
		next, err := unix.Openat(fd, longName(i), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		must(t, err)
		fd = next
	}
	return fd
}

// exercise runs file operations at depth and describes what it saw.
func exercise(t *testing.T, base string) string {
	fd := walkDown(t, base, true)
	defer unix.Close(fd)
	var out strings.Builder
	note := func(format string, a ...any) { fmt.Fprintf(&out, format+"\n", a...) }

	f, err := unix.Openat(fd, "f", unix.O_CREAT|unix.O_RDWR|unix.O_CLOEXEC, 0o640)
	must(t, err)
	k, err := unix.Write(f, []byte("deep content"))
	note("write %d %v", k, err)
	must(t, unix.Close(f))

	var st unix.Stat_t
	must(t, unix.Fstatat(fd, "f", &st, unix.AT_SYMLINK_NOFOLLOW))
	note("stat size=%d mode=%#o nlink=%d", st.Size, st.Mode, st.Nlink)

	f, err = unix.Openat(fd, "f", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	must(t, err)
	buf := make([]byte, 64)
	k, err = unix.Read(f, buf)
	note("read %q %v", buf[:max(k, 0)], err)
	unix.Close(f)

	note("mkdir %v", unix.Mkdirat(fd, "sub", 0o700))
	note("rename %v", unix.Renameat(fd, "f", fd, "sub/g"))
	note("stat old %v", unix.Fstatat(fd, "f", &st, 0))
	must(t, unix.Fstatat(fd, "sub/g", &st, unix.AT_SYMLINK_NOFOLLOW))
	note("stat new size=%d", st.Size)
	note("symlink %v", unix.Symlinkat("g", fd, "sub/l"))
	lbuf := make([]byte, 16)
	k, err = unix.Readlinkat(fd, "sub/l", lbuf)
	note("readlink %q %v", lbuf[:max(k, 0)], err)
	note("setxattr %v", unix.Setxattr(fmt.Sprintf("/proc/self/fd/%d/sub/g", fd), "user.k", []byte("v"), 0))
	note("chmod %v", unix.Fchmodat(fd, "sub/g", 0o600, 0))
	note("unlink %v", unix.Unlinkat(fd, "sub/l", 0))
	note("unlink %v", unix.Unlinkat(fd, "sub/g", 0))
	note("rmdir %v", unix.Unlinkat(fd, "sub", unix.AT_REMOVEDIR))
	note("keep %v", unix.Mkdirat(fd, "kept", 0o700))
	return out.String()
}

// TestLongPath: paths longer than PATH_MAX below the root work through the
// mount exactly as they do natively.
func TestLongPath(t *testing.T) {
	tm := mountTest(t, nil)
	got := exercise(t, tm.mnt)
	want := exercise(t, t.TempDir())
	if strings.Count(got, "<nil>") != 12 {
		t.Errorf("operations at depth failed:\n%s", got)
	}
	if got != want {
		t.Errorf("through the mount:\n%s\nnatively:\n%s", got, want)
	}

	// The result is in the backing directory.
	fd := walkDown(t, tm.backing, false)
	defer unix.Close(fd)
	var st unix.Stat_t
	must(t, unix.Fstatat(fd, "kept", &st, 0))

	// And the changes were reported with their full paths.
	var deep string
	for i := range longDepth {
		deep += longName(i) + "/"
	}
	found := false
	for _, c := range tm.rec.take() {
		if c.Op == change.OpRename && c.Path == deep+"sub/g" && c.From == deep+"f" {
			found = true
		}
	}
	if !found {
		t.Errorf("no rename of %d-byte paths reported", len(deep))
	}
}
