package fs

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// Helpers that act through the mount, failing the test on error.

func mustWrite(t *testing.T, p, data string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func openFile(t *testing.T, p string, flags int) *os.File {
	t.Helper()
	f, err := os.OpenFile(p, flags, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestChanges(t *testing.T) {
	type c = change.Change
	cases := []struct {
		name   string
		setup  func(t *testing.T, m string)
		action func(t *testing.T, m string)
		want   []change.Change
	}{
		{
			name:   "create with content",
			action: func(t *testing.T, m string) { mustWrite(t, m+"/f", "hello") },
			want:   []change.Change{{Op: change.OpCreate, Path: "f"}, {Op: change.OpWrite, Path: "f"}},
		},
		{
			name: "create empty",
			action: func(t *testing.T, m string) {
				must(t, openFile(t, m+"/f", os.O_CREATE|os.O_WRONLY|os.O_EXCL).Close())
			},
			want: []change.Change{{Op: change.OpCreate, Path: "f"}, {Op: change.OpWrite, Path: "f"}},
		},
		{
			name:  "write and close existing",
			setup: func(t *testing.T, m string) { mustWrite(t, m+"/f", "old") },
			action: func(t *testing.T, m string) {
				f := openFile(t, m+"/f", os.O_WRONLY)
				for range 100 {
					if _, err := f.Write([]byte("0123456789")); err != nil {
						t.Fatal(err)
					}
				}
				must(t, f.Close())
			},
			want: []change.Change{{Op: change.OpWrite, Path: "f"}},
		},
		{
			name:   "rewrite with O_TRUNC",
			setup:  func(t *testing.T, m string) { mustWrite(t, m+"/f", "old") },
			action: func(t *testing.T, m string) { mustWrite(t, m+"/f", "new") },
			want:   []change.Change{{Op: change.OpTruncate, Path: "f"}, {Op: change.OpWrite, Path: "f"}},
		},
		{
			name: "read only open reports nothing",
			setup: func(t *testing.T, m string) {
				mustWrite(t, m+"/f", "data")
			},
			action: func(t *testing.T, m string) {
				if _, err := os.ReadFile(m + "/f"); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name:   "mkdir",
			action: func(t *testing.T, m string) { mustMkdir(t, m+"/d") },
			want:   []change.Change{{Op: change.OpMkdir, Path: "d", Dir: true}},
		},
		{
			name:   "mkdir nested",
			setup:  func(t *testing.T, m string) { mustMkdir(t, m+"/d") },
			action: func(t *testing.T, m string) { mustMkdir(t, m+"/d/e") },
			want:   []change.Change{{Op: change.OpMkdir, Path: "d/e", Dir: true}},
		},
		{
			name:   "fifo",
			action: func(t *testing.T, m string) { must(t, unix.Mkfifo(m+"/p", 0o600)) },
			want:   []change.Change{{Op: change.OpMknod, Path: "p"}},
		},
		{
			name:   "socket node",
			action: func(t *testing.T, m string) { must(t, unix.Mknod(m+"/s", unix.S_IFSOCK|0o600, 0)) },
			want:   []change.Change{{Op: change.OpMknod, Path: "s"}},
		},
		{
			name: "device node",
			action: func(t *testing.T, m string) {
				if os.Geteuid() != 0 {
					t.Skip("mknod of a device needs root")
				}
				must(t, unix.Mknod(m+"/null", unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
			},
			want: []change.Change{{Op: change.OpMknod, Path: "null"}},
		},
		{
			name:   "symlink",
			action: func(t *testing.T, m string) { must(t, os.Symlink("target", m+"/l")) },
			want:   []change.Change{{Op: change.OpSymlink, Path: "l"}},
		},
		{
			name: "hard link",
			setup: func(t *testing.T, m string) {
				mustMkdir(t, m+"/d")
				mustWrite(t, m+"/f", "x")
			},
			action: func(t *testing.T, m string) { must(t, os.Link(m+"/f", m+"/d/g")) },
			want:   []change.Change{{Op: change.OpLink, Path: "d/g", From: "f"}},
		},
		{
			name:   "unlink",
			setup:  func(t *testing.T, m string) { mustWrite(t, m+"/f", "x") },
			action: func(t *testing.T, m string) { must(t, os.Remove(m+"/f")) },
			want:   []change.Change{{Op: change.OpUnlink, Path: "f"}},
		},
		{
			name:   "rmdir",
			setup:  func(t *testing.T, m string) { mustMkdir(t, m+"/d") },
			action: func(t *testing.T, m string) { must(t, os.Remove(m+"/d")) },
			want:   []change.Change{{Op: change.OpRmdir, Path: "d", Dir: true}},
		},
		{
			name:   "rename",
			setup:  func(t *testing.T, m string) { mustWrite(t, m+"/a", "x") },
			action: func(t *testing.T, m string) { must(t, os.Rename(m+"/a", m+"/b")) },
			want:   []change.Change{{Op: change.OpRename, Path: "b", From: "a"}},
		},
		{
			name: "rename across directories",
			setup: func(t *testing.T, m string) {
				mustMkdir(t, m+"/d1")
				mustMkdir(t, m+"/d2")
				mustWrite(t, m+"/d1/a", "x")
			},
			action: func(t *testing.T, m string) { must(t, os.Rename(m+"/d1/a", m+"/d2/b")) },
			want:   []change.Change{{Op: change.OpRename, Path: "d2/b", From: "d1/a"}},
		},
		{
			name: "rename over an existing file",
			setup: func(t *testing.T, m string) {
				mustWrite(t, m+"/a", "x")
				mustWrite(t, m+"/b", "y")
			},
			action: func(t *testing.T, m string) { must(t, os.Rename(m+"/a", m+"/b")) },
			want:   []change.Change{{Op: change.OpRename, Path: "b", From: "a"}},
		},
		{
			name: "rename a directory",
			setup: func(t *testing.T, m string) {
				mustMkdir(t, m+"/d")
				mustWrite(t, m+"/d/f", "x")
			},
			action: func(t *testing.T, m string) { must(t, os.Rename(m+"/d", m+"/e")) },
			want:   []change.Change{{Op: change.OpRename, Path: "e", From: "d", Dir: true}},
		},
		{
			name:  "rename noreplace",
			setup: func(t *testing.T, m string) { mustWrite(t, m+"/a", "x") },
			action: func(t *testing.T, m string) {
				must(t, unix.Renameat2(unix.AT_FDCWD, m+"/a", unix.AT_FDCWD, m+"/b", unix.RENAME_NOREPLACE))
			},
			want: []change.Change{{Op: change.OpRename, Path: "b", From: "a"}},
		},
		{
			name: "rename noreplace refused",
			setup: func(t *testing.T, m string) {
				mustWrite(t, m+"/a", "x")
				mustWrite(t, m+"/b", "y")
			},
			action: func(t *testing.T, m string) {
				err := unix.Renameat2(unix.AT_FDCWD, m+"/a", unix.AT_FDCWD, m+"/b", unix.RENAME_NOREPLACE)
				if err != unix.EEXIST {
					t.Fatalf("RENAME_NOREPLACE over a file: %v, want EEXIST", err)
				}
			},
		},
		{
			name: "rename exchange",
			setup: func(t *testing.T, m string) {
				mustMkdir(t, m+"/a")
				mustWrite(t, m+"/b", "y")
			},
			action: func(t *testing.T, m string) {
				must(t, unix.Renameat2(unix.AT_FDCWD, m+"/a", unix.AT_FDCWD, m+"/b", unix.RENAME_EXCHANGE))
			},
			want: []change.Change{{Op: change.OpExchange, Path: "b", From: "a", Dir: true}},
		},
		{
			name:  "O_TMPFILE linked in",
			setup: func(t *testing.T, m string) { mustMkdir(t, m+"/d") },
			action: func(t *testing.T, m string) {
				fd, err := unix.Open(m+"/d", unix.O_TMPFILE|unix.O_RDWR, 0o640)
				must(t, err)
				defer unix.Close(fd)
				if _, err := unix.Write(fd, []byte("tmp")); err != nil {
					t.Fatal(err)
				}
				must(t, unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, m+"/d/t", unix.AT_SYMLINK_FOLLOW))
				must(t, unix.Close(fd))
				fd = -1
				if b, err := os.ReadFile(m + "/d/t"); err != nil || string(b) != "tmp" {
					t.Fatalf("read linked tmpfile: %q, %v", b, err)
				}
			},
			want: []change.Change{{Op: change.OpCreate, Path: "d/t"}, {Op: change.OpWrite, Path: "d/t"}},
		},
		{
			name:  "xattr set and remove",
			setup: func(t *testing.T, m string) { mustWrite(t, m+"/f", "x") },
			action: func(t *testing.T, m string) {
				must(t, unix.Setxattr(m+"/f", "user.k", []byte("v"), 0))
				must(t, unix.Removexattr(m+"/f", "user.k"))
			},
			want: []change.Change{{Op: change.OpSetxattr, Path: "f"}, {Op: change.OpRemovexattr, Path: "f"}},
		},
		{
			name:   "xattr on the root",
			action: func(t *testing.T, m string) { must(t, unix.Setxattr(m, "user.k", []byte("v"), 0)) },
			want:   []change.Change{{Op: change.OpSetxattr, Path: ".", Dir: true}},
		},
		{
			name:   "truncate",
			setup:  func(t *testing.T, m string) { mustWrite(t, m+"/f", "hello") },
			action: func(t *testing.T, m string) { must(t, os.Truncate(m+"/f", 2)) },
			want:   []change.Change{{Op: change.OpTruncate, Path: "f"}},
		},
		{
			name:   "chmod",
			setup:  func(t *testing.T, m string) { mustWrite(t, m+"/f", "x") },
			action: func(t *testing.T, m string) { must(t, os.Chmod(m+"/f", 0o600)) },
			want:   []change.Change{{Op: change.OpSetattr, Path: "f"}},
		},
		{
			name:   "chmod directory",
			setup:  func(t *testing.T, m string) { mustMkdir(t, m+"/d") },
			action: func(t *testing.T, m string) { must(t, os.Chmod(m+"/d", 0o700)) },
			want:   []change.Change{{Op: change.OpSetattr, Path: "d", Dir: true}},
		},
		{
			name:   "chmod root",
			action: func(t *testing.T, m string) { must(t, os.Chmod(m, 0o750)) },
			want:   []change.Change{{Op: change.OpSetattr, Path: ".", Dir: true}},
		},
		{
			name:  "chown",
			setup: func(t *testing.T, m string) { mustWrite(t, m+"/f", "x") },
			action: func(t *testing.T, m string) {
				if os.Geteuid() != 0 {
					t.Skip("chown needs root")
				}
				must(t, os.Lchown(m+"/f", 1234, 5678))
			},
			want: []change.Change{{Op: change.OpSetattr, Path: "f"}},
		},
		{
			name:  "utimes",
			setup: func(t *testing.T, m string) { mustWrite(t, m+"/f", "x") },
			action: func(t *testing.T, m string) {
				ts := time.Unix(1000000000, 0)
				must(t, os.Chtimes(m+"/f", ts, ts))
			},
			want: []change.Change{{Op: change.OpSetattr, Path: "f"}},
		},
		{
			name:  "utimes on a symlink",
			setup: func(t *testing.T, m string) { must(t, os.Symlink("nowhere", m+"/l")) },
			action: func(t *testing.T, m string) {
				tv := []unix.Timeval{{Sec: 42}, {Sec: 43}}
				must(t, unix.Lutimes(m+"/l", tv))
			},
			want: []change.Change{{Op: change.OpSetattr, Path: "l"}},
		},
		{
			name:  "fallocate",
			setup: func(t *testing.T, m string) { mustWrite(t, m+"/f", "x") },
			action: func(t *testing.T, m string) {
				f := openFile(t, m+"/f", os.O_RDWR)
				must(t, unix.Fallocate(int(f.Fd()), 0, 0, 1<<16))
				must(t, f.Close())
			},
			// fallocate reports at once; the writable handle's close again.
			want: []change.Change{{Op: change.OpWrite, Path: "f"}, {Op: change.OpWrite, Path: "f"}},
		},
		{
			name: "copy_file_range",
			setup: func(t *testing.T, m string) {
				mustWrite(t, m+"/src", "copy me")
				mustWrite(t, m+"/dst", "")
			},
			action: func(t *testing.T, m string) {
				src := openFile(t, m+"/src", os.O_RDONLY)
				defer src.Close()
				dst := openFile(t, m+"/dst", os.O_WRONLY)
				defer dst.Close()
				k, err := unix.CopyFileRange(int(src.Fd()), nil, int(dst.Fd()), nil, 7, 0)
				if err != nil || k != 7 {
					t.Fatalf("copy_file_range: %d, %v", k, err)
				}
				must(t, dst.Close())
				must(t, src.Close())
				if b, _ := os.ReadFile(m + "/dst"); string(b) != "copy me" {
					t.Fatalf("copied %q", b)
				}
			},
			want: []change.Change{{Op: change.OpWrite, Path: "dst"}, {Op: change.OpWrite, Path: "dst"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tm := mountTest(t, nil)
			if tc.setup != nil {
				tc.setup(t, tm.mnt)
			}
			tm.waitReleased(t)
			tm.rec.take()
			tc.action(t, tm.mnt)
			if got := tm.rec.take(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("changes:\n got  %v\n want %v", got, tc.want)
			}
		})
	}
}

// TestWriteCloseReportsOnce checks that close reports the write once, and
// that the asynchronous Release adds nothing when nothing changed after.
func TestWriteCloseReportsOnce(t *testing.T) {
	tm := mountTest(t, nil)
	f := openFile(t, tm.mnt+"/f", os.O_CREATE|os.O_WRONLY)
	for i := range 1000 {
		if _, err := f.Write([]byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	must(t, f.Close())
	must(t, tm.m.Unmount()) // Release has been handled once the server stopped
	want := []change.Change{{Op: change.OpCreate, Path: "f"}, {Op: change.OpWrite, Path: "f"}}
	if got := tm.rec.take(); !reflect.DeepEqual(got, want) {
		t.Errorf("changes:\n got  %v\n want %v", got, want)
	}
}

// TestWritesAfterAFlushReported: a close of one descriptor reports the
// write; writes through another descriptor of the same open file after
// that are reported by its close, through the stamp (size, times), as the
// dirty flag was spent.
func TestWritesAfterAFlushReported(t *testing.T) {
	tm := mountTest(t, nil)
	mustWrite(t, tm.mnt+"/f", "0123456789")
	f := openFile(t, tm.mnt+"/f", os.O_WRONLY|os.O_APPEND)
	dup, err := unix.Dup(int(f.Fd()))
	must(t, err)
	tm.rec.take()
	must(t, unix.Close(dup))
	want := []change.Change{{Op: change.OpWrite, Path: "f"}}
	if got := tm.rec.take(); !reflect.DeepEqual(got, want) {
		t.Fatalf("first close: %v, want %v", got, want)
	}
	if _, err := f.Write([]byte("more")); err != nil {
		t.Fatal(err)
	}
	must(t, f.Close())
	if got := tm.rec.take(); !reflect.DeepEqual(got, want) {
		t.Fatalf("second close: %v, want %v", got, want)
	}
}

// TestLongOpenWriterReported: a file held open and written for longer
// than WriteInterval is re-reported while still open.
func TestLongOpenWriterReported(t *testing.T) {
	tm := mountTest(t, func(o *Options) { o.WriteInterval = 50 * time.Millisecond })
	mustMkdir(t, tm.mnt+"/d")
	f := openFile(t, tm.mnt+"/d/log", os.O_CREATE|os.O_WRONLY)
	defer f.Close()
	tm.rec.waitFor(t, "the create", func(c []change.Change) bool { return len(c) == 2 })
	tm.rec.take()
	for i := range 3 {
		if _, err := f.Write([]byte("line " + strconv.Itoa(i) + "\n")); err != nil {
			t.Fatal(err)
		}
		tm.rec.waitFor(t, "a periodic write report", func(c []change.Change) bool { return len(c) == 1 })
		if got := tm.rec.take(); got[0] != (change.Change{Op: change.OpWrite, Path: "d/log"}) {
			t.Fatalf("got %v", got)
		}
	}
	// The report follows the file's current path.
	must(t, os.Rename(tm.mnt+"/d", tm.mnt+"/e"))
	tm.rec.take()
	if _, err := f.Write([]byte("more\n")); err != nil {
		t.Fatal(err)
	}
	tm.rec.waitFor(t, "a report at the new path", func(c []change.Change) bool {
		return len(c) == 1 && c[0] == change.Change{Op: change.OpWrite, Path: "e/log"}
	})
}

// TestOwnership: as root, new objects belong to the caller.
func TestOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as another user")
	}
	tm := mountTest(t, func(o *Options) { o.AllowOther = true })
	// t.TempDir makes its directories 0700: let the other user through.
	for d := filepath.Dir(tm.mnt); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		must(t, os.Chmod(d, 0o755))
	}
	must(t, os.Chmod(tm.mnt, 0o777))
	script := "umask 022; echo x > " + tm.mnt + "/f && mkdir " + tm.mnt + "/d && ln -s f " + tm.mnt + "/l && mkfifo " + tm.mnt + "/p"
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 4321, Gid: 8765}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, name := range []string{"f", "d", "l", "p"} {
		var st unix.Stat_t
		must(t, unix.Lstat(filepath.Join(tm.backing, name), &st))
		if st.Uid != 4321 || st.Gid != 8765 {
			t.Errorf("%s: owner %d:%d, want 4321:8765", name, st.Uid, st.Gid)
		}
	}
	for name, want := range map[string]uint32{"f": 0o644, "d": 0o755, "p": 0o644} {
		var st unix.Stat_t
		must(t, unix.Lstat(filepath.Join(tm.backing, name), &st))
		if st.Mode&0o7777 != want {
			t.Errorf("%s: mode %#o, want %#o", name, st.Mode&0o7777, want)
		}
	}
}

// TestWriting: a change says whether the file stays open for writing, so
// the engine can wait for the close: a create through open(O_CREAT) while
// the creator writes, a truncate of an open file and the periodic report
// of a long-open writer are Writing; the close is not; with two writers,
// the first close is Writing, the last is not.
func TestWriting(t *testing.T) {
	tm := mountTest(t, func(o *Options) { o.WriteInterval = 50 * time.Millisecond })
	type seen struct {
		op      change.Op
		writing bool
	}
	take := func() []seen {
		var out []seen
		for _, c := range tm.rec.takeRaw() {
			out = append(out, seen{c.Op, c.Writing})
		}
		return out
	}
	f := openFile(t, tm.mnt+"/f", os.O_CREATE|os.O_WRONLY)
	if got := take(); !reflect.DeepEqual(got, []seen{{change.OpCreate, true}}) {
		t.Errorf("create: %v, want a create that is still writing", got)
	}
	must(t, f.Truncate(0))
	if got := take(); !reflect.DeepEqual(got, []seen{{change.OpTruncate, true}}) {
		t.Errorf("ftruncate of the open file: %v, want a truncate that is still writing", got)
	}
	if _, err := f.WriteString("x"); err != nil {
		t.Fatal(err)
	}
	tm.rec.waitFor(t, "the periodic report", func(c []change.Change) bool { return len(c) == 1 })
	if got := take(); !reflect.DeepEqual(got, []seen{{change.OpWrite, true}}) {
		t.Errorf("long-open writer: %v, want a write that is still writing", got)
	}
	g := openFile(t, tm.mnt+"/f", os.O_WRONLY|os.O_APPEND)
	if _, err := g.WriteString("y"); err != nil {
		t.Fatal(err)
	}
	must(t, g.Close())
	if got := take(); !reflect.DeepEqual(got, []seen{{change.OpWrite, true}}) {
		t.Errorf("close of one of two writers: %v, want a write that is still writing", got)
	}
	if _, err := f.WriteString("z"); err != nil {
		t.Fatal(err)
	}
	must(t, f.Close())
	tm.waitReleased(t)
	if got := take(); len(got) == 0 || got[len(got)-1] != (seen{change.OpWrite, false}) {
		t.Errorf("last close: %v, want it to end with a write that is no longer writing", got)
	}
}

// TestCloseAfterLateRelease: the kernel sends FUSE_RELEASE after close(2)
// returns, so a file rewritten at once (os.WriteFile twice) may see the
// second open while the first handle is still registered. A handle already
// flushed by a close must not make the next close look like one of two
// writers: that reported one CLOSE_WRITE too many when the late release
// came. A dup'd descriptor keeps the first handle alive deterministically.
func TestCloseAfterLateRelease(t *testing.T) {
	tm := mountTest(t, nil)
	p := tm.mnt + "/f"
	fd, err := unix.Open(p, unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	must(t, err)
	dup, err := unix.Dup(fd)
	must(t, err)
	t.Cleanup(func() { unix.Close(dup) })
	_, err = unix.Write(fd, []byte("1"))
	must(t, err)
	must(t, unix.Close(fd)) // FLUSH; the handle lives on in dup
	must(t, os.WriteFile(p, []byte("22"), 0o644))
	must(t, unix.Close(dup)) // FLUSH and RELEASE of the first handle
	tm.waitReleased(t)
	var writes []change.Change
	for _, c := range tm.rec.takeRaw() {
		if c.Op == change.OpWrite {
			writes = append(writes, c)
		}
	}
	if len(writes) != 2 || writes[0].Writing || writes[1].Writing {
		t.Errorf("writes reported: %+v; want two, one per close of a written handle, neither still writing", writes)
	}
}

// TestOrphanWrite: a file opened through one of two names, which is then
// unlinked, is written through its descriptor. The mount never looked up
// the other name, so it knows no path for the write: the unlink says the
// file stays open, and the write comes by inode.
func TestOrphanWrite(t *testing.T) {
	tm := mountTest(t, nil)
	must(t, os.WriteFile(tm.backing+"/a", []byte("1"), 0o644))
	must(t, os.Link(tm.backing+"/a", tm.backing+"/b"))
	var st unix.Stat_t
	must(t, unix.Stat(tm.backing+"/a", &st))
	f, err := os.OpenFile(tm.mnt+"/b", os.O_WRONLY, 0)
	must(t, err)
	must(t, os.Remove(tm.mnt+"/b"))
	if _, err := f.Write([]byte("22")); err != nil {
		t.Fatal(err)
	}
	must(t, f.Close())
	tm.waitReleased(t)
	got := tm.rec.takeRaw()
	want := []change.Change{
		{Op: change.OpUnlink, Path: "b", Open: true},
		{Op: change.OpWrite, Inode: change.Inode{Dev: st.Dev, Ino: st.Ino}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes %+v, want %+v", got, want)
	}
}
