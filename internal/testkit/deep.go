package testkit

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// MakeDeepPath creates, below root, nested directories with 200-byte names
// until the relative path is longer than minLen bytes, then a file "leaf"
// holding data. It returns the leaf's relative path. Everything goes through
// directory descriptors, so minLen may exceed PATH_MAX (4096).
func MakeDeepPath(t testing.TB, root string, minLen int, data []byte) string {
	t.Helper()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s: %v", root, err)
	}
	var parts []string
	for i := 0; len(strings.Join(parts, "/")) <= minLen; i++ {
		name := fmt.Sprintf("%03d-%s", i, strings.Repeat("d", 196))
		if err := unix.Mkdirat(fd, name, 0o755); err != nil && err != unix.EEXIST {
			unix.Close(fd)
			t.Fatalf("mkdirat %q at depth %d: %v", name, i, err)
		}
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatalf("openat %q at depth %d: %v", name, i, err)
		}
		fd = next
		parts = append(parts, name)
	}
	defer unix.Close(fd)
	f, err := unix.Openat(fd, "leaf", unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		t.Fatalf("creating leaf below %d bytes of path: %v", len(strings.Join(parts, "/")), err)
	}
	defer unix.Close(f)
	for len(data) > 0 {
		n, err := unix.Write(f, data)
		if err != nil {
			t.Fatalf("writing leaf: %v", err)
		}
		data = data[n:]
	}
	return strings.Join(append(parts, "leaf"), "/")
}

// ExistsAt reports whether rel (which may be longer than PATH_MAX) exists
// below root, resolving it one component at a time.
func ExistsAt(root, rel string) (bool, error) {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	parts := strings.Split(rel, "/")
	for _, name := range parts[:len(parts)-1] {
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err == unix.ENOENT {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		fd = next
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	err = unix.Fstatat(fd, parts[len(parts)-1], &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.ENOENT {
		return false, nil
	}
	return err == nil, err
}
