package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ScratchFSOptions sizes a scratch filesystem.
type ScratchFSOptions struct {
	Size   int64 // bytes of the (sparse) image; 0 = 4 GiB
	Inodes int64 // inode count; 0 = mkfs's default for Size
}

// ScratchFS mounts a fresh ext4 filesystem with its journal (mkfs.ext4's
// defaults, what a data directory usually lives on) on a loop device and
// returns its root; it is unmounted and removed when t ends. Benchmarks
// use it so that the host's own filesystem does not set the pace: an ext4
// without a journal, as on some CI machines, spends most of a file
// creation scanning for recently deleted inodes (many times the cost of
// the FUSE round trips being measured).
func ScratchFS(t testing.TB, opts ScratchFSOptions) string {
	t.Helper()
	mnt, cleanup, err := MountScratchFS(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cleanup(); err != nil {
			t.Log(err)
		}
	})
	return mnt
}

// MountScratchFS is ScratchFS for callers that can do without one: it
// returns an error instead of failing, and a cleanup to call.
func MountScratchFS(opts ScratchFSOptions) (mnt string, cleanup func() error, err error) {
	for _, tool := range []string{"mkfs.ext4", "losetup"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", nil, fmt.Errorf("scratch filesystem: %s is not installed: apt-get install -y %s", tool, Tools[tool])
		}
	}
	if opts.Size == 0 {
		opts.Size = 4 << 30
	}
	// Not under a t.TempDir(): that is removed before a cleanup
	// registered after it could unmount.
	base, err := os.MkdirTemp("", "mirrorfs-scratch-")
	if err != nil {
		return "", nil, fmt.Errorf("scratch filesystem: %w", err)
	}
	img, mnt := filepath.Join(base, "ext4.img"), filepath.Join(base, "mnt")
	mounted := false
	cleanup = func() error {
		var err error
		if mounted {
			if out, uerr := exec.Command("umount", mnt).CombinedOutput(); uerr != nil {
				exec.Command("umount", "-l", mnt).Run()
				err = fmt.Errorf("umount %s: %v: %s; detached lazily", mnt, uerr, strings.TrimSpace(string(out)))
			}
		}
		os.RemoveAll(base)
		return err
	}
	fail := func(format string, args ...any) (string, func() error, error) {
		cleanup()
		return "", nil, fmt.Errorf(format, args...)
	}
	if err := os.Mkdir(mnt, 0o755); err != nil {
		return fail("scratch filesystem: %w", err)
	}
	f, err := os.Create(img)
	if err == nil {
		err = f.Truncate(opts.Size)
		f.Close()
	}
	if err != nil {
		return fail("scratch filesystem image %s: %w", img, err)
	}
	// Inode tables and journal written now: the lazy initialiser would
	// otherwise write them in the background while we measure.
	args := []string{"-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0"}
	if opts.Inodes > 0 {
		args = append(args, "-N", fmt.Sprint(opts.Inodes))
	}
	if out, err := exec.Command("mkfs.ext4", append(args, img)...).CombinedOutput(); err != nil {
		return fail("mkfs.ext4 %s: %w: %s", img, err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		return fail("mounting the scratch filesystem %s: %w: %s (needs root and a loop device)", img, err, strings.TrimSpace(string(out)))
	}
	mounted = true
	return mnt, cleanup, nil
}
