package fs

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCreateModes: every creating operation through the mount gives the
// object the mode the application asked for (less the umask), exactly as
// on the native directory: 0000 stays 0000, never a default like 0644.
func TestCreateModes(t *testing.T) {
	tm := mountTest(t, nil)
	native := t.TempDir()
	old := unix.Umask(0o022)
	defer unix.Umask(old)
	type op struct {
		name string
		make func(dir, name string, mode uint32) error
	}
	ops := []op{
		{"create", func(dir, name string, mode uint32) error {
			fd, err := unix.Open(filepath.Join(dir, name), unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, mode)
			if err == nil {
				unix.Close(fd)
			}
			return err
		}},
		{"mkdir", func(dir, name string, mode uint32) error { return unix.Mkdir(filepath.Join(dir, name), mode) }},
		{"mknod", func(dir, name string, mode uint32) error {
			return unix.Mknod(filepath.Join(dir, name), unix.S_IFIFO|mode, 0)
		}},
		{"tmpfile", func(dir, name string, mode uint32) error {
			fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, mode)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			return unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", fd), unix.AT_FDCWD, filepath.Join(dir, name), unix.AT_SYMLINK_FOLLOW)
		}},
	}
	for _, o := range ops {
		for _, mode := range []uint32{0o000, 0o200, 0o400, 0o600, 0o4755} {
			name := fmt.Sprintf("%s-%04o", o.name, mode)
			t.Run(name, func(t *testing.T) {
				if err := o.make(native, name, mode); err != nil {
					t.Fatalf("native: %v", err)
				}
				if err := o.make(tm.mnt, name, mode); err != nil {
					t.Fatalf("through the mount: %v", err)
				}
				want, err := os.Lstat(filepath.Join(native, name))
				if err != nil {
					t.Fatal(err)
				}
				for _, where := range []string{tm.mnt, tm.backing} {
					got, err := os.Lstat(filepath.Join(where, name))
					if err != nil {
						t.Fatal(err)
					}
					if got.Mode() != want.Mode() {
						t.Errorf("%s: mode %v, natively %v", where, got.Mode(), want.Mode())
					}
				}
			})
		}
	}
}
