package doctor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/mirror"
)

const inotifyDir = "/proc/sys/fs/inotify"

// Inotify reports the kernel's inotify limits the way the ops article
// inspects them. mirrorfs needs none of them: it sits in the path of every
// change instead of watching each directory.
func Inotify() Check {
	const name = "kernel inotify"
	read := func(f string) (int64, error) {
		b, err := os.ReadFile(filepath.Join(inotifyDir, f))
		if err != nil {
			return 0, err
		}
		return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	q, err1 := read("max_queued_events")
	w, err2 := read("max_user_watches")
	i, err3 := read("max_user_instances")
	if err1 != nil || err2 != nil || err3 != nil {
		return warn(name, fmt.Sprintf("%s is missing or unreadable: the kernel has no inotify (mirrorfs does not need it; inotifywait and --inotify-audit do)", inotifyDir),
			"use a kernel built with CONFIG_INOTIFY_USER (Linux >= 2.6.13)")
	}
	return ok(name, "supported; max_queued_events=%d (events queued per instance before IN_Q_OVERFLOW loses them), max_user_watches=%d (one watch per watched directory, per user), max_user_instances=%d (inotify instances per user); mirrorfs itself needs no watch per directory: every change passes through the mount", q, w, i)
}

// Fuse checks /dev/fuse, fusermount3 and whether the kernel can pass file
// data through without the daemon (Linux >= 6.9, as root).
func Fuse() []Check {
	var out []Check
	if fd, err := unix.Open("/dev/fuse", unix.O_RDWR|unix.O_CLOEXEC, 0); err != nil {
		out = append(out, fail("/dev/fuse", fmt.Sprintf("cannot open /dev/fuse: %v", err),
			"load the module (modprobe fuse); in a container, pass --device /dev/fuse"))
	} else {
		unix.Close(fd)
		out = append(out, ok("/dev/fuse", "present and openable"))
	}
	if p, err := exec.LookPath("fusermount3"); err != nil {
		res := warn
		if os.Geteuid() != 0 {
			res = fail
		}
		out = append(out, res("fusermount3", "fusermount3 is not in $PATH: mounting as non-root and lazy unmounts need it", "install fuse3 (apt-get install fuse3)"))
	} else {
		out = append(out, ok("fusermount3", "%s", p))
	}
	var uts unix.Utsname
	unix.Uname(&uts)
	rel := unix.ByteSliceToString(uts.Release[:])
	major, minor := kernelVersion(rel)
	switch {
	case major < 6 || (major == 6 && minor < 9):
		out = append(out, warn("fuse passthrough", fmt.Sprintf("kernel %s has no FUSE passthrough (needs 6.9): reads and writes go through the mirrorfs process, slower than native", rel), "upgrade the kernel to 6.9 or newer for native-speed data"))
	case os.Geteuid() != 0:
		out = append(out, warn("fuse passthrough", fmt.Sprintf("kernel %s supports passthrough, but only a root mount may use it", rel), "mount as root for native-speed reads and writes"))
	default:
		out = append(out, ok("fuse passthrough", "kernel %s, running as root: file data bypasses the daemon", rel))
	}
	return out
}

func kernelVersion(rel string) (int, int) {
	var major, minor int
	fmt.Sscanf(rel, "%d.%d", &major, &minor)
	return major, minor
}

// Rsync checks the rsync binary's release.
func Rsync(ctx context.Context, path string) Check {
	v, err := mirror.RsyncVersion(ctx, path)
	if err != nil {
		return fail("rsync", err.Error(), "install rsync 3.1.0 or newer (not 3.4.3), or point --rsync at one")
	}
	return ok("rsync", "%s %s, protocol %d", path, v, v.Protocol)
}

// PasswordFile checks the password file as rsync will.
func PasswordFile(path string) Check {
	const name = "password file"
	if path == "" {
		if os.Getenv("RSYNC_PASSWORD") != "" {
			return ok(name, "none; the password comes from RSYNC_PASSWORD")
		}
		return ok(name, "none given (fine for a module without auth users)")
	}
	if err := mirror.CheckPasswordFile(path); err != nil {
		return fail(name, err.Error(), fmt.Sprintf("chown root %s && chmod 600 %s", path, path))
	}
	return ok(name, "%s: owned by root, mode 0600", path)
}
