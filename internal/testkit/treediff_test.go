package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// copyTree makes b an rsync -aHX copy of a, the reference for "equal".
func copyTree(t *testing.T, a string) string {
	t.Helper()
	b := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("rsync", "-aHX", "--devices", "--specials", a+"/", b+"/").CombinedOutput(); err != nil {
		t.Fatalf("rsync -aHX: %v\n%s", err, out)
	}
	return b
}

func TestTreeDiffEqualCopy(t *testing.T) {
	Require(t, "rsync", "root")
	a := t.TempDir()
	Populate(t, a, PopulateOptions{Xattrs: true, Devices: true, EscapingSymlinks: true})
	b := copyTree(t, a)
	if d := TreeDiff(a, b, CompareOptions{Xattrs: true}); len(d) != 0 {
		t.Fatalf("copy made with rsync -aHX differs: %s", FormatDiffs(d))
	}
	if out := RsyncDiff(t, a, b); out != "" {
		t.Fatalf("RsyncDiff on an equal copy printed:\n%s", out)
	}
}

func TestTreeDiffDetects(t *testing.T) {
	Require(t, "rsync", "root")
	a := t.TempDir()
	Populate(t, a, PopulateOptions{Xattrs: true, Devices: true})
	keep := func(p string, f func()) { // f changes p, keep its mtime
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		f()
		if err := lutimes(p, fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 123456789, time.UTC)

	tests := []struct {
		name   string
		change func(t *testing.T, b string)
		opts   CompareOptions
		want   string // substring of one difference; "" means no difference
	}{
		{"missing", func(t *testing.T, b string) { must(t, os.Remove(b+"/small.txt")) }, CompareOptions{}, `"small.txt": only in a (file)`},
		{"missing dir", func(t *testing.T, b string) { must(t, os.RemoveAll(b+"/d1/d2")) }, CompareOptions{IgnoreDirMtime: true}, `"d1/d2": only in a (directory)`},
		{"extra", func(t *testing.T, b string) { must(t, os.WriteFile(b+"/extra", nil, 0o644)) }, CompareOptions{IgnoreRootMtime: true}, `"extra": only in b (file)`},
		{"type", func(t *testing.T, b string) { must(t, os.Remove(b+"/empty")); must(t, os.Mkdir(b+"/empty", 0o644)) }, CompareOptions{}, "type differs: a is file, b is directory"},
		{"mode", func(t *testing.T, b string) { must(t, os.Chmod(b+"/small.txt", 0o600)) }, CompareOptions{}, "mode differs: a 0644"},
		{"setuid", func(t *testing.T, b string) { must(t, os.Chmod(b+"/setuid", 0o755)) }, CompareOptions{}, `"setuid": mode differs: a 6755`},
		{"sticky", func(t *testing.T, b string) { must(t, os.Chmod(b+"/sticky", 0o777)) }, CompareOptions{}, `"sticky": mode differs: a 1777`},
		{"uid", func(t *testing.T, b string) { must(t, os.Lchown(b+"/owned", 1, -1)) }, CompareOptions{}, "uid differs: a 1234, b 1"},
		{"gid", func(t *testing.T, b string) { must(t, os.Lchown(b+"/owned", -1, 2)) }, CompareOptions{}, "gid differs: a 5678, b 2"},
		{"owner ignored", func(t *testing.T, b string) { must(t, os.Lchown(b+"/owned", 1, 2)) }, CompareOptions{IgnoreOwner: true}, ""},
		{"symlink owner", func(t *testing.T, b string) { must(t, os.Lchown(b+"/link-rel", 0, 0)) }, CompareOptions{}, `"link-rel": uid differs`},
		{"mtime 1ns", func(t *testing.T, b string) { must(t, os.Chtimes(b+"/small.txt", old, old.Add(time.Nanosecond))) }, CompareOptions{}, "mtime differs: a 981173106.123456789, b 981173106.123456790"},
		{"dir mtime", func(t *testing.T, b string) { must(t, os.Chtimes(b+"/d1/d2/d3", old, old.Add(time.Second))) }, CompareOptions{}, `"d1/d2/d3": mtime differs`},
		{"dir mtime below a second", func(t *testing.T, b string) { must(t, os.Chtimes(b+"/d1/d2/d3", old, old.Add(time.Millisecond))) }, CompareOptions{}, ""},
		{"dir mtime exact", func(t *testing.T, b string) { must(t, os.Chtimes(b+"/d1/d2/d3", old, old.Add(time.Millisecond))) }, CompareOptions{ExactSpecialMtime: true}, `"d1/d2/d3": mtime differs`},
		{"dir mtime ignored", func(t *testing.T, b string) { must(t, os.Chtimes(b+"/d1/d2/d3", old, old.Add(time.Second))) }, CompareOptions{IgnoreDirMtime: true}, ""},
		{"root mtime", func(t *testing.T, b string) { must(t, os.Chtimes(b, old, old)) }, CompareOptions{}, `".": mtime differs`},
		{"root mtime ignored", func(t *testing.T, b string) { must(t, os.Chtimes(b, old, old)) }, CompareOptions{IgnoreRootMtime: true}, ""},
		{"root mode ignored", func(t *testing.T, b string) { must(t, os.Chmod(b, 0o700)) }, CompareOptions{IgnoreRootMode: true}, ""},
		{"size", func(t *testing.T, b string) {
			keep(b+"/small.txt", func() { must(t, os.WriteFile(b+"/small.txt", []byte("longer content\n!"), 0o644)) })
		}, CompareOptions{}, "size differs: a 15, b 16"},
		{"content", func(t *testing.T, b string) {
			keep(b+"/d1/big.bin", func() {
				f, err := os.OpenFile(b+"/d1/big.bin", os.O_WRONLY, 0)
				must(t, err)
				_, err = f.WriteAt([]byte{0xAA}, 2<<20+5)
				must(t, err)
				must(t, f.Close())
			})
		}, CompareOptions{}, "content differs from byte 2097157"},
		{"symlink target", func(t *testing.T, b string) {
			must(t, os.Remove(b+"/link-rel"))
			must(t, os.Symlink("smal1.txt", b+"/link-rel"))
			must(t, os.Lchown(b+"/link-rel", 4321, 8765))
			must(t, lutimes(b+"/link-rel", old))
		}, CompareOptions{}, `symlink target differs: a "small.txt", b "smal1.txt"`},
		{"symlink mtime", func(t *testing.T, b string) { must(t, lutimes(b+"/link-dangling", old)) }, CompareOptions{}, `"link-dangling": mtime differs`},
		{"device", func(t *testing.T, b string) {
			keep(b+"/chardev", func() {
				must(t, os.Remove(b+"/chardev"))
				must(t, unix.Mknod(b+"/chardev", unix.S_IFCHR|0o600, int(unix.Mkdev(1, 5))))
			})
		}, CompareOptions{}, "device differs: a 1:3, b 1:5"},
		{"fifo became file", func(t *testing.T, b string) {
			must(t, os.Remove(b+"/fifo"))
			must(t, os.WriteFile(b+"/fifo", nil, 0o640))
		}, CompareOptions{}, "type differs: a is fifo, b is file"},
		{"hard link broken", func(t *testing.T, b string) {
			keep(b+"/d1/hard-b", func() {
				data, err := os.ReadFile(b + "/hard-a")
				must(t, err)
				must(t, os.Remove(b+"/d1/hard-b"))
				must(t, os.WriteFile(b+"/d1/hard-b", data, 0o644))
			})
		}, CompareOptions{IgnoreDirMtime: true}, `hard-link group differs: a links ["d1/hard-b" "hard-a"]`},
		{"hard link broken ignored", func(t *testing.T, b string) {
			keep(b+"/d1/hard-b", func() {
				data, err := os.ReadFile(b + "/hard-a")
				must(t, err)
				must(t, os.Remove(b+"/d1/hard-b"))
				must(t, os.WriteFile(b+"/d1/hard-b", data, 0o644))
			})
		}, CompareOptions{IgnoreDirMtime: true, IgnoreHardLinks: true}, ""},
		{"hard link added", func(t *testing.T, b string) {
			must(t, os.Remove(b+"/d1/d2/d3/deep.txt"))
			must(t, os.Link(b+"/hard-a", b+"/d1/d2/d3/deep.txt"))
		}, CompareOptions{IgnoreDirMtime: true}, `b links ["d1/d2/d3/deep.txt" "d1/hard-b" "hard-a"]`},
		{"xattr value", func(t *testing.T, b string) { must(t, unix.Setxattr(b+"/small.txt", "user.color", []byte("red"), 0)) }, CompareOptions{Xattrs: true}, `xattr user.color differs: a "blue", b "red"`},
		{"xattr removed", func(t *testing.T, b string) { must(t, unix.Removexattr(b+"/d1", "user.note")) }, CompareOptions{Xattrs: true}, `"d1": xattr user.note only in a`},
		{"xattr added on fifo", func(t *testing.T, b string) { must(t, unix.Setxattr(b+"/sticky", "user.x", []byte("1"), 0)) }, CompareOptions{Xattrs: true}, "xattr user.x only in b"},
		{"acl", func(t *testing.T, b string) {
			must(t, setfacl(b+"/small.txt"))
			must(t, lutimes(b+"/small.txt", old))
		}, CompareOptions{ACLs: true}, `"small.txt": xattr system.posix_acl_access only in b`},
		{"acl ignored", func(t *testing.T, b string) {
			must(t, setfacl(b+"/small.txt"))
		}, CompareOptions{Xattrs: true}, ""},
		{"xattr ignored", func(t *testing.T, b string) { must(t, unix.Setxattr(b+"/small.txt", "user.color", []byte("red"), 0)) }, CompareOptions{}, ""},
		{"odd name", func(t *testing.T, b string) { must(t, os.Rename(b+"/names/new\nline", b+"/names/new\nline2")) }, CompareOptions{IgnoreDirMtime: true}, `"names/new\nline": only in a`},
		{"non-utf8 name", func(t *testing.T, b string) { must(t, os.Remove(b+"/names/not-utf8-\xff\xfe")) }, CompareOptions{IgnoreDirMtime: true}, `"names/not-utf8-\xff\xfe": only in a`},
		{"excluded", func(t *testing.T, b string) { must(t, os.RemoveAll(b+"/d1/d2")) }, CompareOptions{IgnoreDirMtime: true, Exclude: func(rel string) bool { return rel == "d1/d2" }}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.ACLs || strings.HasPrefix(tc.name, "acl") {
				Require(t, "setfacl")
			}
			b := copyTree(t, a)
			tc.change(t, b)
			diffs := TreeDiff(a, b, tc.opts)
			if tc.want == "" {
				if len(diffs) != 0 {
					t.Fatalf("want no difference, got %s", FormatDiffs(diffs))
				}
				return
			}
			for _, d := range diffs {
				if strings.Contains(d, tc.want) {
					return
				}
			}
			t.Fatalf("want a difference containing %q, got %s", tc.want, FormatDiffs(diffs))
		})
	}
}

func TestTreeDiffBeyondPathMax(t *testing.T) {
	Require(t, "rsync", "root")
	a, b := t.TempDir(), t.TempDir()
	rel := MakeDeepPath(t, a, 5000, []byte("deep content"))
	if len(rel) <= 4096 {
		t.Fatalf("path only %d bytes", len(rel))
	}
	if rb := MakeDeepPath(t, b, 5000, []byte("deep CONTENT")); rb != rel {
		t.Fatalf("MakeDeepPath not deterministic")
	}
	ok, err := ExistsAt(a, rel)
	if !ok || err != nil {
		t.Fatalf("ExistsAt(deep) = %v, %v", ok, err)
	}
	if ok, err := ExistsAt(a, rel+"x"); ok || err != nil {
		t.Fatalf("ExistsAt(missing) = %v, %v", ok, err)
	}
	now := time.Now()
	for _, root := range []string{a, b} {
		fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Through the dirfd: the absolute path is beyond PATH_MAX.
		ts := unix.NsecToTimespec(now.UnixNano())
		parts := strings.Split(rel, "/")
		for _, p := range parts[:len(parts)-1] {
			next, err := unix.Openat(fd, p, unix.O_RDONLY|unix.O_DIRECTORY, 0)
			unix.Close(fd)
			if err != nil {
				t.Fatal(err)
			}
			fd = next
		}
		if err := unix.UtimesNanoAt(fd, "leaf", []unix.Timespec{ts, ts}, 0); err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
	}
	diffs := TreeDiff(a, b, CompareOptions{IgnoreDirMtime: true})
	if len(diffs) != 1 || !strings.Contains(diffs[0], "content differs from byte 5") || !strings.Contains(diffs[0], "leaf") {
		t.Fatalf("want one content difference at the deep leaf, got %s", FormatDiffs(diffs))
	}
	top := strings.SplitN(rel, "/", 2)[0]
	diffs = TreeDiff(a, b, CompareOptions{IgnoreDirMtime: true, Exclude: func(r string) bool { return r == top }})
	if len(diffs) != 0 {
		t.Fatalf("excluding the deep tree: %s", FormatDiffs(diffs))
	}
}

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, 5*time.Second, func() (bool, string) { n++; return n >= 3, "n < 3" })
	ok, msg := Poll(30*time.Millisecond, func() (bool, string) { return false, "never" })
	if ok || msg != "never" {
		t.Fatalf("Poll = %v, %q", ok, msg)
	}
}

func TestFormatDiffsLimit(t *testing.T) {
	diffs := make([]string, 45)
	for i := range diffs {
		diffs[i] = "x"
	}
	s := FormatDiffs(diffs)
	if !strings.HasPrefix(s, "45 difference(s)") || !strings.HasSuffix(s, "... and 15 more") || strings.Count(s, "\n  x") != maxShown {
		t.Fatalf("FormatDiffs:\n%s", s)
	}
}

func TestSnapshotExact(t *testing.T) {
	Require(t, "root")
	a := t.TempDir()
	Populate(t, a, PopulateOptions{Xattrs: true, Devices: true, EscapingSymlinks: true})
	snap := Snapshot(t, a)
	if d := TreeDiff(a, snap, CompareOptions{Xattrs: true, ACLs: true, ExactSpecialMtime: true}); len(d) != 0 {
		t.Fatalf("snapshot differs: %s", FormatDiffs(d))
	}
	if err := os.WriteFile(a+"/small.txt", []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d := TreeDiff(a, snap, CompareOptions{}); len(d) == 0 {
		t.Fatal("snapshot follows the original?")
	}
}

// setfacl grants uid 1234 read access, which adds system.posix_acl_access.
func setfacl(path string) error {
	if out, err := exec.Command("setfacl", "-m", "u:1234:r", path).CombinedOutput(); err != nil {
		return fmt.Errorf("setfacl %s: %w: %s", path, err, out)
	}
	return nil
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
