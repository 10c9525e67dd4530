package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// PopulateOptions selects optional object kinds for Populate.
type PopulateOptions struct {
	Xattrs  bool // user.* attributes on a file and a directory
	Devices bool // a character device node (needs root)
	// EscapingSymlinks adds symlinks with an absolute target and one that
	// climbs above the root. A daemon with "use chroot = no" rewrites them
	// (see DaemonOptions.UseChroot).
	EscapingSymlinks bool
}

// OddNames are file names that break naive scripts: spaces, newlines,
// backslashes, a leading dash, bytes that are not UTF-8, a 255-byte name.
var OddNames = []string{
	"with space",
	"new\nline",
	`back\slash`,
	"-leading-dash",
	"--",
	"not-utf8-\xff\xfe",
	"ünïcödé",
	strings.Repeat("n", 255),
}

// Populate fills dir with one of every kind of object rsync -aH carries:
// files of several sizes, nested directories, symlinks (relative, absolute,
// dangling), a hard-link pair, a fifo, setuid/setgid/sticky modes, foreign
// owners, nanosecond mtimes and OddNames. It works through the plain path
// API, so dir may be a FUSE mount.
func Populate(t testing.TB, dir string, opts PopulateOptions) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	p := func(rel string) string { return filepath.Join(dir, rel) }

	must(os.MkdirAll(p("d1/d2/d3"), 0o755))
	must(os.WriteFile(p("empty"), nil, 0o644))
	must(os.WriteFile(p("small.txt"), []byte("hello mirrorfs\n"), 0o644))
	must(os.WriteFile(p("d1/d2/d3/deep.txt"), []byte("deep\n"), 0o600))
	must(os.WriteFile(p("d1/big.bin"), pattern(3<<20+17), 0o644))
	must(os.Symlink("small.txt", p("link-rel")))
	must(os.Symlink("missing/target", p("link-dangling")))
	must(os.Symlink("../small.txt", p("d1/link-up")))
	must(os.WriteFile(p("hard-a"), []byte("linked\n"), 0o644))
	must(os.Link(p("hard-a"), p("d1/hard-b")))
	must(unix.Mkfifo(p("fifo"), 0o640))
	must(os.WriteFile(p("setuid"), []byte("#!/bin/sh\n"), 0o755))
	must(os.Chmod(p("setuid"), 0o755|os.ModeSetuid|os.ModeSetgid))
	must(os.Mkdir(p("sticky"), 0o777))
	must(os.Chmod(p("sticky"), 0o777|os.ModeSticky))
	must(os.WriteFile(p("owned"), []byte("owner\n"), 0o640))
	must(os.Lchown(p("owned"), 1234, 5678))
	must(os.Lchown(p("link-rel"), 4321, 8765))
	must(os.Mkdir(p("names"), 0o755))
	for i, n := range OddNames {
		must(os.WriteFile(filepath.Join(p("names"), n), fmt.Appendf(nil, "odd %d\n", i), 0o644))
	}
	if opts.EscapingSymlinks {
		must(os.Symlink("/nonexistent/target", p("link-absolute")))
		must(os.Symlink("../../outside", p("d1/link-escape")))
	}
	if opts.Devices {
		must(unix.Mknod(p("chardev"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))))
	}
	if opts.Xattrs {
		must(unix.Setxattr(p("small.txt"), "user.color", []byte("blue"), 0))
		must(unix.Setxattr(p("d1"), "user.note", []byte("a directory\x00with nul"), 0))
	}
	// Times last, children before parents, so creation does not bump them.
	ts := time.Date(2001, 2, 3, 4, 5, 6, 123456789, time.UTC)
	for _, rel := range []string{"small.txt", "d1/d2/d3/deep.txt", "d1/d2/d3", "owned", "fifo"} {
		must(os.Chtimes(p(rel), ts, ts))
	}
	must(lutimes(p("link-rel"), ts))
}

func lutimes(path string, ts time.Time) error {
	t := unix.NsecToTimespec(ts.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{t, t}, unix.AT_SYMLINK_NOFOLLOW)
}

// pattern returns n bytes that differ at every offset modulo 251, so a
// misplaced block shows up as a content difference.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}
