package fs

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// helperEnv makes the test binary a mount server for TestCheckMountpoint.
const helperEnv = "MIRRORFS_FS_TEST_MOUNT_HELPER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		mountHelper(dir)
		return
	}
	os.Exit(m.Run())
}

// mountHelper mounts dir/backing on dir/mnt, says so and serves until
// killed.
func mountHelper(dir string) {
	b, err := os.Open(filepath.Join(dir, "backing"))
	if err != nil {
		os.Exit(2)
	}
	m, err := New(Options{Backing: b, Mountpoint: filepath.Join(dir, "mnt"), Reporter: &recorder{}})
	if err != nil {
		os.Stderr.WriteString(err.Error())
		os.Exit(2)
	}
	os.Stdout.WriteString("mounted\n")
	m.Wait()
}

// staleMount makes a FUSE mount whose server has died.
func staleMount(t *testing.T) string {
	t.Helper()
	requireFuse(t)
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	must(t, os.Mkdir(mnt, 0o755))
	must(t, os.Mkdir(filepath.Join(dir, "backing"), 0o755))
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
			exec.Command("fusermount3", "-u", "-z", mnt).Run()
		}
	})
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "mounted\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("mount helper did not mount: %q", line)
	}
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	return mnt
}

func TestCheckMountpoint(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	must(t, os.WriteFile(file, nil, 0o644))
	live := mountTest(t, nil)
	stale := staleMount(t)

	cases := []struct {
		name, path string
		wantErr    string // substring; "" for no error
	}{
		{"plain directory", dir, ""},
		{"missing", filepath.Join(dir, "missing"), "does not exist"},
		{"file", file, "not a directory"},
		{"fuse mount", live.mnt, "already a FUSE mount (fuse.mirrorfs)"},
		{"stale fuse mount", stale, "fusermount3 -u " + stale},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckMountpoint(tc.path)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("CheckMountpoint: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("CheckMountpoint: %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestMountInfo(t *testing.T) {
	tm := mountTest(t, nil)
	typ, mounted, err := MountInfo(tm.mnt)
	if err != nil || !mounted || typ != "fuse.mirrorfs" {
		t.Errorf("MountInfo(%s) = %q, %v, %v; want fuse.mirrorfs, true", tm.mnt, typ, mounted, err)
	}
	typ, mounted, err = MountInfo(tm.backing)
	if err != nil || mounted {
		t.Errorf("MountInfo(%s) = %q, %v, %v; want not mounted", tm.backing, typ, mounted, err)
	}
}

func TestParseMountinfo(t *testing.T) {
	cases := []struct{ line, mp, typ string }{
		{`36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`, "/mnt2", "ext3"},
		{`100 29 0:52 / /tmp/a\040b\011c\134d rw,nosuid - fuse.mirrorfs /src rw,user_id=0`, "/tmp/a b\tc\\d", "fuse.mirrorfs"},
		{`101 29 0:53 / /x rw - fuse.mirrorfs src rw`, "/x", "fuse.mirrorfs"},
	}
	for _, tc := range cases {
		mp, typ, ok := parseMountinfo(tc.line)
		if !ok || mp != tc.mp || typ != tc.typ {
			t.Errorf("parseMountinfo(%q) = %q, %q, %v", tc.line, mp, typ, ok)
		}
	}
}

// TestInPlace mounts over the backing directory itself.
func TestInPlace(t *testing.T) {
	requireFuse(t)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "before"), []byte("old"), 0o644))
	b, err := os.Open(dir)
	must(t, err)
	defer b.Close()
	rec := &recorder{}
	m := mountOrFail(t, Options{Backing: b, Mountpoint: dir, Reporter: rec})

	if got, err := os.ReadFile(filepath.Join(dir, "before")); err != nil || string(got) != "old" {
		t.Fatalf("existing file through the mount: %q, %v", got, err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "new"), []byte("written through the mount"), 0o644))
	if typ, mounted, _ := MountInfo(dir); !mounted || typ != "fuse.mirrorfs" {
		t.Fatalf("%s is not mounted: %q", dir, typ)
	}
	must(t, m.Unmount())
	m.Wait()
	if _, mounted, _ := MountInfo(dir); mounted {
		t.Fatalf("%s still mounted", dir)
	}
	got, err := os.ReadFile(filepath.Join(dir, "new"))
	if err != nil || string(got) != "written through the mount" {
		t.Fatalf("after unmount: %q, %v", got, err)
	}
}

func TestUnmountBusy(t *testing.T) {
	tm := mountTest(t, nil)
	f, err := os.Create(filepath.Join(tm.mnt, "open"))
	must(t, err)
	err = tm.m.Unmount()
	if !errors.Is(err, syscall.EBUSY) {
		t.Errorf("Unmount of a busy mount: %v, want EBUSY", err)
	}
	f.Close()
	must(t, tm.m.Unmount())
	tm.m.Wait()
}

func TestUnmountLazy(t *testing.T) {
	tm := mountTest(t, nil)
	f, err := os.Create(filepath.Join(tm.mnt, "open"))
	must(t, err)
	must(t, tm.m.UnmountLazy())
	if _, mounted, _ := MountInfo(tm.mnt); mounted {
		t.Errorf("still mounted after a lazy unmount")
	}
	if _, err := f.Write([]byte("still works")); err != nil {
		t.Errorf("write to a file open on a detached mount: %v", err)
	}
	f.Close()
	tm.m.Wait()
}

// TestExternalUnmount: Wait returns when someone else unmounts.
func TestExternalUnmount(t *testing.T) {
	tm := mountTest(t, nil)
	out, err := exec.Command("fusermount3", "-u", tm.mnt).CombinedOutput()
	if err != nil {
		t.Fatalf("fusermount3 -u: %v: %s", err, out)
	}
	tm.m.Wait()
	must(t, tm.m.Unmount())
}

// TestPassthrough checks that kernel passthrough engages: writes and reads
// never reach the daemon.
func TestPassthrough(t *testing.T) {
	tm := mountTest(t, func(o *Options) { o.Debug = true })
	if tm.m.server.KernelSettings().Flags64()&fuse.CAP_PASSTHROUGH == 0 || os.Geteuid() != 0 {
		t.Skip("kernel passthrough needs root and Linux >= 6.9")
	}
	f, err := os.Create(filepath.Join(tm.mnt, "f"))
	must(t, err)
	for range 64 {
		if _, err := f.Write(make([]byte, 4096)); err != nil {
			t.Fatal(err)
		}
	}
	must(t, f.Close())
	if b, err := os.ReadFile(filepath.Join(tm.mnt, "f")); err != nil || len(b) != 64*4096 {
		t.Fatalf("read back %d bytes, %v", len(b), err)
	}
	must(t, tm.m.Unmount())
	log := tm.debugLog()
	if !strings.Contains(log, "CREATE") {
		t.Fatalf("no debug output? %.2000s", log)
	}
	for _, op := range []string{"WRITE", "READ"} {
		if k := strings.Count(log, ": "+op+" "); k > 0 {
			t.Errorf("%d %s requests reached the daemon: passthrough did not engage", k, op)
		}
	}
	// Known cost, not a failure: the kernel asks for security.capability
	// before every write (file_remove_privs), passthrough or not. See
	// the package documentation.
	t.Logf("GETXATTR requests for 64 writes: %d", strings.Count(log, ": GETXATTR "))
}

// TestNoPassthrough: without kernel passthrough (not root, Linux < 6.9)
// reads and writes go through the daemon and are reported the same way.
func TestNoPassthrough(t *testing.T) {
	tm := mountTest(t, func(o *Options) { o.Debug = true; o.noPassthrough = true })
	mustWrite(t, filepath.Join(tm.mnt, "f"), "through the daemon")
	if b, err := os.ReadFile(filepath.Join(tm.mnt, "f")); err != nil || string(b) != "through the daemon" {
		t.Fatalf("read back %q, %v", b, err)
	}
	must(t, tm.m.Unmount())
	if k := strings.Count(tm.debugLog(), ": WRITE "); k == 0 {
		t.Errorf("no WRITE reached the daemon: passthrough was not disabled")
	}
	want := []change.Change{{Op: change.OpCreate, Path: "f"}, {Op: change.OpWrite, Path: "f"}}
	if got := tm.rec.take(); !reflect.DeepEqual(got, want) {
		t.Errorf("changes:\n got  %v\n want %v", got, want)
	}
}
