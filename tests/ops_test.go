package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	must(t, os.WriteFile(path, []byte(content), 0o644))
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, quoteArgs(args), err, out)
	}
}

// opCase is one mutation through the mount: setup runs and is mirrored
// first, then change runs and must be mirrored too.
type opCase struct {
	name   string
	args   []string
	setup  func(t *testing.T, root string)
	change func(t *testing.T, root string)
	opts   testkit.CompareOptions
	daemon testkit.DaemonOptions
	check  func(t *testing.T, module string) // extra assertions on the module
	tools  []string                          // programs the case runs (testkit.Tools)
}

func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Lstat(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	return string(b)
}

var opCases = []opCase{
	{name: "create", change: func(t *testing.T, r string) { write(t, r+"/new.txt", "new\n") },
		check: func(t *testing.T, mod string) {
			if got := readFile(t, mod+"/new.txt"); got != "new\n" {
				t.Errorf("module new.txt = %q", got)
			}
		}},
	{name: "create empty", change: func(t *testing.T, r string) {
		f, err := os.Create(r + "/empty")
		must(t, err)
		must(t, f.Close())
	}},
	{name: "append",
		setup: func(t *testing.T, r string) { write(t, r+"/log", "line 1\n") },
		change: func(t *testing.T, r string) {
			f, err := os.OpenFile(r+"/log", os.O_APPEND|os.O_WRONLY, 0)
			must(t, err)
			for i := 2; i <= 100; i++ {
				fmt.Fprintf(f, "line %d\n", i)
			}
			must(t, f.Close())
		}},
	{name: "overwrite",
		setup:  func(t *testing.T, r string) { write(t, r+"/f", strings.Repeat("old ", 1000)) },
		change: func(t *testing.T, r string) { write(t, r+"/f", "new") }},
	{name: "overwrite in place same size",
		setup: func(t *testing.T, r string) { write(t, r+"/f", strings.Repeat("a", 8192)) },
		change: func(t *testing.T, r string) {
			f, err := os.OpenFile(r+"/f", os.O_WRONLY, 0)
			must(t, err)
			_, err = f.WriteAt([]byte("BBBB"), 4000)
			must(t, err)
			must(t, f.Close())
		}},
	{name: "truncate shorter",
		setup:  func(t *testing.T, r string) { write(t, r+"/f", strings.Repeat("x", 10000)) },
		change: func(t *testing.T, r string) { must(t, os.Truncate(r+"/f", 10)) }},
	{name: "ftruncate longer",
		setup: func(t *testing.T, r string) { write(t, r+"/f", "short") },
		change: func(t *testing.T, r string) {
			f, err := os.OpenFile(r+"/f", os.O_WRONLY, 0)
			must(t, err)
			must(t, f.Truncate(1<<20))
			must(t, f.Close())
		}},
	{name: "truncate to zero with O_TRUNC",
		setup: func(t *testing.T, r string) { write(t, r+"/f", "content") },
		change: func(t *testing.T, r string) {
			f, err := os.OpenFile(r+"/f", os.O_WRONLY|os.O_TRUNC, 0)
			must(t, err)
			must(t, f.Close())
		}},
	{name: "mkdir -p ten levels", change: func(t *testing.T, r string) {
		run(t, "mkdir", "-p", r+"/1/2/3/4/5/6/7/8/9/10")
		write(t, r+"/1/2/3/4/5/6/7/8/9/10/leaf", "deep")
	}},
	{name: "rename file",
		setup:  func(t *testing.T, r string) { write(t, r+"/a", "a") },
		change: func(t *testing.T, r string) { must(t, os.Rename(r+"/a", r+"/b")) },
		check: func(t *testing.T, mod string) {
			if exists(t, mod+"/a") || !exists(t, mod+"/b") {
				t.Error("module still has a, or lacks b")
			}
		}},
	{name: "rename directory",
		setup: func(t *testing.T, r string) {
			must(t, os.MkdirAll(r+"/old/sub", 0o755))
			write(t, r+"/old/sub/f", "f")
			write(t, r+"/old/g", "g")
		},
		change: func(t *testing.T, r string) { must(t, os.Rename(r+"/old", r+"/new")) }},
	{name: "rename directory then change inside",
		setup: func(t *testing.T, r string) {
			must(t, os.MkdirAll(r+"/old/sub", 0o755))
			write(t, r+"/old/sub/f", "f")
		},
		change: func(t *testing.T, r string) {
			must(t, os.Rename(r+"/old", r+"/new"))
			write(t, r+"/new/sub/f", "changed")
			write(t, r+"/new/added", "added")
			must(t, os.Rename(r+"/new/sub", r+"/sub2"))
		}},
	{name: "rename across directories",
		setup: func(t *testing.T, r string) {
			must(t, os.MkdirAll(r+"/x/y", 0o755))
			must(t, os.MkdirAll(r+"/p/q", 0o755))
			write(t, r+"/x/y/f", "f")
		},
		change: func(t *testing.T, r string) {
			must(t, os.Rename(r+"/x/y/f", r+"/p/q/f"))
			must(t, os.Rename(r+"/x/y", r+"/p/y"))
		}},
	{name: "rename over existing file",
		setup: func(t *testing.T, r string) {
			write(t, r+"/src", "source content")
			write(t, r+"/dst", "destination content, longer")
		},
		change: func(t *testing.T, r string) { must(t, os.Rename(r+"/src", r+"/dst")) }},
	{name: "rename over empty directory",
		setup: func(t *testing.T, r string) {
			must(t, os.MkdirAll(r+"/a/inner", 0o755))
			must(t, os.Mkdir(r+"/b", 0o755))
		},
		// os.Rename refuses an existing directory target itself; rename(2) allows it.
		change: func(t *testing.T, r string) { must(t, unix.Rename(r+"/a", r+"/b")) }},
	{name: "rename exchange files",
		setup: func(t *testing.T, r string) {
			write(t, r+"/one", "one")
			write(t, r+"/two", "two two")
		},
		change: func(t *testing.T, r string) {
			must(t, unix.Renameat2(unix.AT_FDCWD, r+"/one", unix.AT_FDCWD, r+"/two", unix.RENAME_EXCHANGE))
		},
		check: func(t *testing.T, mod string) {
			if got := readFile(t, mod+"/one"); got != "two two" {
				t.Errorf("module one = %q after exchange", got)
			}
		}},
	{name: "rename exchange file and directory",
		setup: func(t *testing.T, r string) {
			write(t, r+"/file", "file")
			must(t, os.MkdirAll(r+"/dir/sub", 0o755))
			write(t, r+"/dir/sub/x", "x")
		},
		change: func(t *testing.T, r string) {
			must(t, unix.Renameat2(unix.AT_FDCWD, r+"/file", unix.AT_FDCWD, r+"/dir", unix.RENAME_EXCHANGE))
		}},
	{name: "rename noreplace", change: func(t *testing.T, r string) {
		write(t, r+"/a", "a")
		must(t, unix.Renameat2(unix.AT_FDCWD, r+"/a", unix.AT_FDCWD, r+"/b", unix.RENAME_NOREPLACE))
	}},
	{name: "unlink",
		setup:  func(t *testing.T, r string) { write(t, r+"/gone", "x"); write(t, r+"/stays", "y") },
		change: func(t *testing.T, r string) { must(t, os.Remove(r+"/gone")) }},
	{name: "rm -rf tree",
		setup: func(t *testing.T, r string) {
			for i := range 20 {
				d := fmt.Sprintf("%s/tree/d%d/e", r, i%4)
				must(t, os.MkdirAll(d, 0o755))
				write(t, fmt.Sprintf("%s/f%d", d, i), "x")
			}
			must(t, os.Symlink("e", r+"/tree/d0/link"))
		},
		change: func(t *testing.T, r string) { run(t, "rm", "-rf", r+"/tree") },
		check: func(t *testing.T, mod string) {
			if exists(t, mod+"/tree") {
				t.Error("module still has tree/")
			}
		}},
	{name: "create then delete before shipping", change: func(t *testing.T, r string) {
		write(t, r+"/ephemeral", "x")
		must(t, os.Mkdir(r+"/ephemeral-dir", 0o755))
		must(t, os.Remove(r+"/ephemeral"))
		must(t, os.Remove(r+"/ephemeral-dir"))
		write(t, r+"/kept", "k")
	}},
	{name: "chmod",
		setup: func(t *testing.T, r string) {
			write(t, r+"/f", "x")
			must(t, os.Mkdir(r+"/d", 0o755))
		},
		change: func(t *testing.T, r string) {
			must(t, os.Chmod(r+"/f", 0o4750|os.ModeSetuid))
			must(t, os.Chmod(r+"/d", 0o777|os.ModeSticky))
		}},
	{name: "chown",
		setup: func(t *testing.T, r string) {
			write(t, r+"/f", "x")
			must(t, os.Symlink("f", r+"/l"))
			must(t, os.Mkdir(r+"/d", 0o755))
		},
		change: func(t *testing.T, r string) {
			must(t, os.Chown(r+"/f", 1234, 5678))
			must(t, os.Lchown(r+"/l", 4321, 8765))
			must(t, os.Chown(r+"/d", 1, 1))
		}},
	{name: "touch -d",
		setup: func(t *testing.T, r string) {
			write(t, r+"/f", "x")
			must(t, os.Mkdir(r+"/d", 0o755))
		},
		change: func(t *testing.T, r string) {
			run(t, "touch", "-d", "2001-02-03 04:05:06.123456789", r+"/f")
			run(t, "touch", "-d", "1999-12-31 23:59:59", r+"/d")
		},
		opts: testkit.CompareOptions{ExactSpecialMtime: true}},
	{name: "symlink", change: func(t *testing.T, r string) {
		write(t, r+"/target", "t")
		must(t, os.Mkdir(r+"/sub", 0o755))
		must(t, os.Symlink("target", r+"/rel"))
		must(t, os.Symlink("../target", r+"/sub/up"))
		must(t, os.Symlink("does/not/exist", r+"/dangling"))
		run(t, "touch", "-h", "-d", "2002-01-01 00:00:00", r+"/rel")
	}},
	// The article's "use chroot = no" rewrites such targets on the daemon
	// side (see testkit.DaemonOptions.UseChroot); a chrooted module keeps them.
	{name: "symlink absolute and escaping", daemon: testkit.DaemonOptions{UseChroot: true},
		change: func(t *testing.T, r string) {
			must(t, os.Symlink("/etc/hostname", r+"/abs"))
			must(t, os.Symlink("../../outside", r+"/esc"))
		}},
	{name: "hard link",
		setup: func(t *testing.T, r string) { write(t, r+"/orig", "shared"); must(t, os.Mkdir(r+"/d", 0o755)) },
		change: func(t *testing.T, r string) {
			must(t, os.Link(r+"/orig", r+"/d/link1"))
			must(t, os.Link(r+"/orig", r+"/link2"))
		}},
	{name: "hard link then unlink original",
		setup: func(t *testing.T, r string) { write(t, r+"/orig", "shared") },
		change: func(t *testing.T, r string) {
			must(t, os.Link(r+"/orig", r+"/link"))
			must(t, os.Remove(r+"/orig"))
		}},
	{name: "fifo", change: func(t *testing.T, r string) {
		must(t, unix.Mkfifo(r+"/fifo", 0o620))
	}},
	{name: "device node", change: func(t *testing.T, r string) {
		must(t, unix.Mknod(r+"/null", unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	}},
	{name: "xattr", args: []string{"--xattrs"},
		setup: func(t *testing.T, r string) {
			write(t, r+"/f", "x")
			must(t, os.Mkdir(r+"/d", 0o755))
			must(t, unix.Setxattr(r+"/f", "user.gone", []byte("soon"), 0))
		},
		change: func(t *testing.T, r string) {
			must(t, unix.Setxattr(r+"/f", "user.color", []byte("blue"), 0))
			must(t, unix.Setxattr(r+"/d", "user.bin", []byte{0, 1, 2, 255}, 0))
			must(t, unix.Removexattr(r+"/f", "user.gone"))
		},
		opts: testkit.CompareOptions{Xattrs: true}},
	{name: "acl", args: []string{"--acls"},
		setup: func(t *testing.T, r string) {
			write(t, r+"/f", "x")
			must(t, os.Mkdir(r+"/d", 0o755))
		},
		change: func(t *testing.T, r string) {
			run(t, "setfacl", "-m", "u:1234:r,g:5678:r", r+"/f")
			run(t, "setfacl", "-d", "-m", "u:1234:rx", r+"/d")
			write(t, r+"/d/inherits", "i")
		},
		opts:  testkit.CompareOptions{ACLs: true},
		tools: []string{"setfacl"}},
	{name: "editor pattern",
		setup: func(t *testing.T, r string) { write(t, r+"/doc.txt", "version 1\n") },
		change: func(t *testing.T, r string) {
			for v := 2; v <= 5; v++ {
				tmp := r + "/.doc.txt.swp"
				f, err := os.Create(tmp)
				must(t, err)
				fmt.Fprintf(f, "version %d\n", v)
				must(t, f.Sync())
				must(t, f.Close())
				must(t, os.Rename(tmp, r+"/doc.txt"))
			}
		},
		check: func(t *testing.T, mod string) {
			if got := readFile(t, mod+"/doc.txt"); got != "version 5\n" {
				t.Errorf("module doc.txt = %q", got)
			}
			if exists(t, mod+"/.doc.txt.swp") {
				t.Error("module kept the editor's temp file")
			}
		}},
	{name: "O_TMPFILE linked in", change: func(t *testing.T, r string) {
		fd, err := unix.Open(r, unix.O_TMPFILE|unix.O_WRONLY, 0o640)
		if err == unix.EOPNOTSUPP || err == unix.EISDIR {
			t.Skipf("O_TMPFILE not supported through the mount: %v", err)
		}
		must(t, err)
		defer unix.Close(fd)
		_, err = unix.Write(fd, []byte("tmpfile"))
		must(t, err)
		must(t, unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", fd), unix.AT_FDCWD, r+"/linked", unix.AT_SYMLINK_FOLLOW))
	}},
	{name: "copy_file_range", setup: func(t *testing.T, r string) { write(t, r+"/src", strings.Repeat("c", 100000)) },
		change: func(t *testing.T, r string) {
			src, err := os.Open(r + "/src")
			must(t, err)
			defer src.Close()
			dst, err := os.Create(r + "/dst")
			must(t, err)
			n, err := unix.CopyFileRange(int(src.Fd()), nil, int(dst.Fd()), nil, 100000, 0)
			must(t, err)
			if n != 100000 {
				t.Fatalf("copy_file_range copied %d", n)
			}
			must(t, dst.Close())
		}},
	{name: "fallocate", setup: func(t *testing.T, r string) { write(t, r+"/f", "abc") },
		change: func(t *testing.T, r string) {
			f, err := os.OpenFile(r+"/f", os.O_WRONLY, 0)
			must(t, err)
			must(t, unix.Fallocate(int(f.Fd()), 0, 0, 1<<16))
			must(t, f.Close())
		}},
	{name: "mmap write", setup: func(t *testing.T, r string) { write(t, r+"/f", strings.Repeat("m", 8192)) },
		change: func(t *testing.T, r string) {
			f, err := os.OpenFile(r+"/f", os.O_RDWR, 0)
			must(t, err)
			b, err := unix.Mmap(int(f.Fd()), 0, 8192, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
			must(t, err)
			copy(b[100:], "MAPPED")
			must(t, unix.Msync(b, unix.MS_SYNC))
			must(t, unix.Munmap(b))
			must(t, f.Close())
		},
		check: func(t *testing.T, mod string) {
			if got := readFile(t, mod+"/f"); !bytes.Contains([]byte(got), []byte("MAPPED")) {
				t.Error("module lacks the mmap write")
			}
		}},
}

// destSetup starts a destination for one test and returns the mount
// options that reach it; the module (or remote directory) is Daemon.Dir.
type destSetup func(t *testing.T, opts testkit.DaemonOptions) mountOptions

// daemonDest is the plain rsync daemon over TCP.
func daemonDest(_ *testing.T, opts testkit.DaemonOptions) mountOptions {
	return mountOptions{DaemonOpts: opts}
}

func TestOperations(t *testing.T) { runOperations(t, daemonDest) }

// runOperations runs the operations table against the destination setup.
func runOperations(t *testing.T, setup destSetup) {
	requireE2E(t)
	for _, tc := range opCases {
		t.Run(tc.name, func(t *testing.T) {
			testkit.Require(t, tc.tools...)
			o := setup(t, tc.daemon)
			o.Args = append(o.Args, tc.args...)
			m := mountMirror(t, o)
			if tc.setup != nil {
				tc.setup(t, m.Mnt)
				m.assertMirrored(t, tc.opts)
			}
			tc.change(t, m.Mnt)
			m.assertMirrored(t, tc.opts)
			if tc.check != nil {
				tc.check(t, m.Daemon.Dir)
			}
		})
	}
}

// TestSeparateSource mirrors --source DIR served at a different mountpoint:
// changes made through the mount land in DIR and on the module.
func TestSeparateSource(t *testing.T) {
	requireE2E(t)
	src := filepath.Join(t.TempDir(), "src")
	must(t, os.Mkdir(src, 0o755))
	write(t, src+"/before", "present before mounting")
	m := mountMirror(t, mountOptions{Source: src})
	if got := readFile(t, m.Mnt+"/before"); got != "present before mounting" {
		t.Fatalf("mount does not show the source: %q", got)
	}
	write(t, m.Mnt+"/through-mount", "x")
	must(t, os.MkdirAll(m.Mnt+"/a/b", 0o755))
	must(t, os.Rename(m.Mnt+"/before", m.Mnt+"/a/b/moved"))
	m.assertMirrored(t, testkit.CompareOptions{})
	if got := readFile(t, src+"/through-mount"); got != "x" {
		t.Fatalf("write through the mount did not reach --source: %q", got)
	}
	testkit.AssertTreesEqual(t, m.Mnt, m.Daemon.Dir, testkit.CompareOptions{})
}
