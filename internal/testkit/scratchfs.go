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
//
// The image is created under dir ("" = the system temp directory): the
// caller's t.TempDir() would be removed before this cleanup unmounts.
func ScratchFS(t testing.TB, dir string, opts ScratchFSOptions) string {
	t.Helper()
	for _, tool := range []string{"mkfs.ext4", "losetup"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: apt-get install -y e2fsprogs mount", tool)
		}
	}
	if opts.Size == 0 {
		opts.Size = 4 << 30
	}
	base, err := os.MkdirTemp(dir, "mirrorfs-scratch-")
	if err != nil {
		t.Fatalf("scratch filesystem: %v", err)
	}
	img, mnt := filepath.Join(base, "ext4.img"), filepath.Join(base, "mnt")
	mounted := false
	t.Cleanup(func() {
		if mounted {
			if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
				t.Logf("umount %s: %v: %s; detaching lazily", mnt, err, out)
				exec.Command("umount", "-l", mnt).Run()
			}
		}
		os.RemoveAll(base)
	})
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatalf("scratch filesystem: %v", err)
	}
	f, err := os.Create(img)
	if err == nil {
		err = f.Truncate(opts.Size)
		f.Close()
	}
	if err != nil {
		t.Fatalf("scratch filesystem image %s: %v", img, err)
	}
	// Inode tables and journal written now: the lazy initialiser would
	// otherwise write them in the background while we measure.
	args := []string{"-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0"}
	if opts.Inodes > 0 {
		args = append(args, "-N", fmt.Sprint(opts.Inodes))
	}
	if out, err := exec.Command("mkfs.ext4", append(args, img)...).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4 %s: %v: %s", img, err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Fatalf("mounting the scratch filesystem %s: %v: %s (needs root and loop devices)", img, err, strings.TrimSpace(string(out)))
	}
	mounted = true
	return mnt
}
