package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/change"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// scenario exercises every kind of change and checks the destination
// equals the source after each Sync.
func scenario(t *testing.T, h *harness) {
	// Initial sync: pre-existing tree, and a stale file on the destination.
	mustWrite(t, h.abs("keep/a"), "a")
	mustWrite(t, h.abs("keep/sub/b"), "b")
	mustWrite(t, h.abs("old"), "old")
	mustWrite(t, h.abs("olddir/x"), "x")
	mustWrite(t, h.abs("olddir/y/z"), "z")
	mustWrite(t, filepath.Join(h.dst, "stale"), "stale")
	h.start()
	h.mustSync()
	compareTrees(t, h.src, h.dst, nil)
	if st := h.eng.Status(); !st.InitialSync.Done || st.InitialSync.Error != "" {
		t.Fatalf("initial sync status %+v", st.InitialSync)
	}

	t.Run("create modify rename", func(t *testing.T) {
		h.write("new.txt", "hello")
		h.write("keep/a", "a, longer now")
		if err := os.Chmod(h.abs("keep/a"), 0o600); err != nil {
			t.Fatal(err)
		}
		h.add(change.Change{Op: change.OpSetattr, Path: "keep/a"})
		if err := os.Chown(h.abs("new.txt"), 1234, 5678); err != nil {
			t.Fatal(err)
		}
		h.add(change.Change{Op: change.OpSetattr, Path: "new.txt"})
		h.mkdir("newdir")
		h.write("newdir/f1", "f1")
		h.mkdir("newdir/sub")
		h.write("newdir/sub/f2", "f2")
		h.rename("old", "renamed")
		h.rename("olddir", "moved")
		h.removeAll("keep/sub/b")
		for _, n := range []string{"sp ace", "new\nline", `back\slash`, "-dash", "--delete", "bad\xff\xfe", "tab\tname", `quo"te`, "ends in space "} {
			h.write(n, "weird:"+n)
		}
		if err := os.Symlink("keep/a", h.abs("link")); err != nil {
			t.Fatal(err)
		}
		h.add(change.Change{Op: change.OpCreate, Path: "link"})
		h.write("h1", "hard")
		h.mustSync()
		if err := os.Link(h.abs("h1"), h.abs("h2")); err != nil {
			t.Fatal(err)
		}
		h.add(change.Change{Op: change.OpLink, Path: "h2", From: "h1"}) // as the FUSE layer reports it
		h.mustSync()
		compareTrees(t, h.src, h.dst, nil)
	})

	t.Run("delete", func(t *testing.T) {
		h.removeAll("moved")
		h.removeAll("renamed")
		h.removeAll("newdir/sub")
		h.removeAll("bad\xff\xfe")
		h.mustSync()
		compareTrees(t, h.src, h.dst, nil)
	})

	t.Run("exchange", func(t *testing.T) {
		mustWrite(t, h.abs("xa/one"), "1")
		mustWrite(t, h.abs("xb/two"), "2")
		h.add(change.Change{Op: change.OpCreate, Path: "xa", Dir: true})
		h.add(change.Change{Op: change.OpCreate, Path: "xb", Dir: true})
		h.mustSync()
		if err := unix.Renameat2(unix.AT_FDCWD, h.abs("xa"), unix.AT_FDCWD, h.abs("xb"), unix.RENAME_EXCHANGE); err != nil {
			t.Fatal(err)
		}
		h.add(change.Change{Op: change.OpExchange, From: "xa", Path: "xb", Dir: true})
		h.mustSync()
		compareTrees(t, h.src, h.dst, nil)
	})

	st := h.eng.Status()
	if st.Pending != 0 || st.InFlight != 0 || len(st.Stuck) != 0 || st.LastSuccess == nil || st.Totals.ShippedPaths == 0 || st.ConsecutiveFailures != 0 {
		t.Errorf("status after the scenario: %+v", st)
	}
	waitFor(t, "idle state", func() bool { return h.eng.Status().State == StateIdle })
}

func TestEngineLocal(t *testing.T) {
	dst := t.TempDir()
	d, _ := ParseDestination(dst)
	h := newHarness(t, d, dst, false, func(c *Config) { c.InitialSync = true })
	scenario(t, h)
}

func TestEngineDaemon(t *testing.T) {
	dm := startDaemon(t)
	pw := passwordFile(t, daemonPass)
	h := newHarness(t, dm.dest(), dm.module, false, func(c *Config) {
		c.InitialSync = true
		c.PasswordFile = pw
	})
	scenario(t, h)
	if strings.Contains(h.logs.String(), daemonPass) {
		t.Error("the password appears in the log")
	}
}

func TestEngineCreateDeleteShipsNothing(t *testing.T) {
	dst := t.TempDir()
	d, _ := ParseDestination(dst)
	h := newHarness(t, d, dst, true, nil)
	h.write("tmpfile", "x")
	h.removeAll("tmpfile")
	h.mkdir("tmpdir")
	h.write("tmpdir/f", "f")
	h.mkdir("tmpdir/sub")
	h.removeAll("tmpdir")
	res, err := h.sync(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	st := h.eng.Status()
	if st.Totals.Batches != 0 || st.Pending != 0 || res.Pending != 0 {
		t.Errorf("expected no rsync run at all: %+v", st.Totals)
	}
	if st.Totals.Events != 10 {
		t.Errorf("events = %d, want 10", st.Totals.Events)
	}
	compareTrees(t, h.src, h.dst, func(rel string) bool { return rel == "." })
}

func TestEngineSyncBarrier(t *testing.T) {
	dst := t.TempDir()
	d, _ := ParseDestination(dst)
	// Nothing but the first change (it leads) would ship within the test
	// without a barrier.
	h := newHarness(t, d, dst, true, func(c *Config) { c.Delay, c.MaxDelay = time.Hour, time.Hour })
	res, err := h.sync(5 * time.Second)
	if err != nil || res.Seq != 0 {
		t.Fatalf("empty sync: %+v %v", res, err)
	}
	h.write("lead", "the first change after a quiet period ships at once")
	waitFor(t, "the leading change to ship without a barrier", func() bool {
		_, err := os.Stat(filepath.Join(dst, "lead"))
		return err == nil
	})
	h.write("f", "one")
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dst, "f")); err == nil {
		t.Fatal("shipped before its delay without a Sync")
	}
	res, err = h.sync(10 * time.Second)
	if err != nil || res.Seq != 4 {
		t.Fatalf("sync: %+v %v", res, err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "f")); err != nil || string(b) != "one" {
		t.Fatalf("after Sync the destination has %q, %v", b, err)
	}
	// Changes added after a Sync began are not awaited, but ship with the next.
	h.write("g", "two")
	if _, err := h.sync(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, h.src, h.dst, nil)
	// Concurrent Syncs all return.
	h.write("f", "three")
	errs := make(chan error, 4)
	for range 4 {
		go func() { _, err := h.sync(10 * time.Second); errs <- err }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	compareTrees(t, h.src, h.dst, nil)
}

func TestEngineWithoutRun(t *testing.T) {
	dst := t.TempDir()
	d, _ := ParseDestination(dst)
	h := newHarness(t, d, dst, false, nil)
	h.write("f", "x")
	h.mustSync() // Sync drives the queue itself when Run is not running
	h.write("g", "y")
	rep, err := h.eng.Flush(context.Background())
	if err != nil || rep.Pending != 0 || rep.InFlight != 0 {
		t.Fatalf("flush: %+v %v", rep, err)
	}
	compareTrees(t, h.src, h.dst, nil)
}

// makeDeep creates dirs of 200-byte names below root until the path
// passes 4096 bytes and puts a file there; returns the file's relative path
// and the relative paths of the directories.
func makeDeep(t *testing.T, root, top string) (string, []string) {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	rel := top
	name := top
	for len(rel) < 4100 {
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, rel)
		nfd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		fd = nfd
		name = strings.Repeat("d", 200)
		rel += "/" + name
	}
	ffd, err := unix.Openat(fd, strings.Repeat("f", 100), unix.O_CREAT|unix.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	unix.Write(ffd, []byte("deep"))
	unix.Close(ffd)
	unix.Close(fd)
	last := dirs[len(dirs)-1] + "/" + strings.Repeat("f", 100)
	t.Cleanup(func() { removeDeep(root + "/" + top) })
	return last, dirs
}

// removeDeep removes a tree deeper than PATH_MAX (os.RemoveAll copes).
func removeDeep(p string) { os.RemoveAll(p) }

func TestEngineLongPath(t *testing.T) {
	dst := t.TempDir()
	d, _ := ParseDestination(dst)
	h := newHarness(t, d, dst, true, nil)
	long, dirs := makeDeep(t, h.src, "deep")
	for _, dir := range dirs {
		h.add(change.Change{Op: change.OpCreate, Path: dir, Dir: true})
	}
	h.add(change.Change{Op: change.OpCreate, Path: long})
	h.add(change.Change{Op: change.OpWrite, Path: long})
	h.write("ok", "fine")
	_, err := h.sync(20 * time.Second)
	var se *StuckError
	if !errors.As(err, &se) || len(se.Stuck) != 1 || se.Stuck[0].Path != long || se.Stuck[0].Error != longPathMsg {
		t.Fatalf("Sync error = %v, want the long path reported stuck", err)
	}
	if _, err := os.Stat(filepath.Join(dst, "ok")); err != nil {
		t.Errorf("the other change did not flow: %v", err)
	}
	// Everything up to the last directory that fits was mirrored.
	if _, err := os.Stat(filepath.Join(dst, dirs[len(dirs)-2])); err != nil {
		t.Errorf("deep directory missing on destination: %v", err)
	}
	// The queue keeps flowing.
	h.write("ok2", "fine too")
	_, err = h.sync(20 * time.Second)
	if !errors.As(err, &se) {
		t.Fatalf("second Sync: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dst, "ok2")); err != nil {
		t.Errorf("later change did not flow: %v", err)
	}
	st := h.eng.Status()
	if st.StuckCount != 1 || st.Stuck[0].Path != long || st.Pending != 0 {
		t.Errorf("status: stuck %d pending %d", st.StuckCount, st.Pending)
	}
	if n := strings.Count(h.logs.String(), "longer than rsync's 4096-byte limit"); n != 1 {
		t.Errorf("long path logged %d times, want once", n)
	}
	if _, err := json.Marshal(st); err != nil {
		t.Errorf("status does not marshal: %v", err)
	}
	// Deleting it clears the report.
	removeDeep(h.abs("deep"))
	h.add(change.Change{Op: change.OpRmdir, Path: "deep", Dir: true})
	if _, err := h.sync(20 * time.Second); err != nil {
		t.Fatalf("after deleting the long path: %v", err)
	}
	compareTrees(t, h.src, h.dst, nil)
}

func TestEnginePerPathFailure(t *testing.T) {
	dst := t.TempDir()
	d, _ := ParseDestination(dst)
	h := newHarness(t, d, dst, true, nil)
	h.mkdir("locked")
	h.mustSync()
	lockedDst := filepath.Join(dst, "locked")
	testkit.Require(t, "chattr")
	if out, err := command("chattr", "+i", lockedDst); err != nil {
		t.Skipf("chattr +i not supported here: %v %s", err, out)
	}
	t.Cleanup(func() { command("chattr", "-i", lockedDst) })
	h.write("locked/f", "blocked")
	h.write("free", "flows")
	h.write("free2", "flows")
	_, err := h.sync(20 * time.Second)
	var se *StuckError
	if !errors.As(err, &se) || len(se.Stuck) != 1 || se.Stuck[0].Path != "locked/f" {
		t.Fatalf("Sync error = %v, want locked/f stuck", err)
	}
	if !strings.Contains(se.Stuck[0].Error, "Operation not permitted") {
		t.Errorf("stuck error %q does not say why", se.Stuck[0].Error)
	}
	for _, f := range []string{"free", "free2"} {
		if _, err := os.Stat(filepath.Join(dst, f)); err != nil {
			t.Errorf("%s did not flow: %v", f, err)
		}
	}
	st := h.eng.Status()
	if st.StuckCount != 1 || st.Stuck[0].Attempts < 1 || st.ConsecutiveFailures != 0 {
		t.Errorf("status: %+v", st)
	}
	if _, err := command("chattr", "-i", lockedDst); err != nil {
		t.Fatal(err)
	}
	h.mustSync()
	compareTrees(t, h.src, h.dst, nil)
	if st := h.eng.Status(); st.StuckCount != 0 || st.Pending != 0 {
		t.Errorf("status after healing: %+v", st)
	}
}

func TestEngineWrongPasswordHeals(t *testing.T) {
	dm := startDaemon(t)
	pw := passwordFile(t, "wrong-password")
	h := newHarness(t, dm.dest(), dm.module, true, func(c *Config) { c.PasswordFile = pw })
	h.write("a", "a")
	h.mkdir("d")
	h.write("d/b", "b")
	_, err := h.sync(2 * time.Second)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sync with a wrong password: %v", err)
	}
	st := h.eng.Status()
	if st.LastErrorClass != "auth-failed" || !strings.Contains(st.LastError, "refused the password for user rsyncuser on module mod") || st.ConsecutiveFailures < 2 || st.Pending+st.InFlight != 2 || (st.State != StateRetrying && st.State != StateShipping) {
		t.Fatalf("status: %+v", st)
	}
	if n := strings.Count(h.logs.String(), "refused the password"); n != 1 {
		t.Errorf("auth failure logged %d times over %d failures, want once", n, st.ConsecutiveFailures)
	}
	js, _ := json.Marshal(st)
	if strings.Contains(string(js), "wrong-password") || strings.Contains(h.logs.String(), "wrong-password") {
		t.Error("the password leaked into status or log")
	}
	// Fixing the file heals without a restart.
	if err := os.WriteFile(pw, []byte(daemonPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.mustSync()
	compareTrees(t, h.src, h.dst, nil)
	if !strings.Contains(h.logs.String(), "destination reachable again") {
		t.Error("recovery not logged")
	}
	if st := h.eng.Status(); st.ConsecutiveFailures != 0 || st.State == StateRetrying {
		t.Errorf("status after healing: %+v", st)
	}
}

func TestEngineDaemonRestart(t *testing.T) {
	dm := startDaemon(t)
	pw := passwordFile(t, daemonPass)
	h := newHarness(t, dm.dest(), dm.module, true, func(c *Config) { c.PasswordFile = pw })
	h.write("before", "1")
	h.mustSync()
	dm.stop()
	h.write("during", "2")
	h.mkdir("dir")
	h.write("dir/x", "3")
	h.removeAll("before")
	_, err := h.sync(1500 * time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sync while the daemon is down: %v", err)
	}
	if st := h.eng.Status(); st.LastErrorClass != "unreachable" || st.Pending == 0 {
		t.Fatalf("status while down: %+v", st)
	}
	dm.start()
	h.mustSync()
	compareTrees(t, h.src, h.dst, nil)
}

func TestEngineFlush(t *testing.T) {
	dm := startDaemon(t)
	pw := passwordFile(t, daemonPass)
	h := newHarness(t, dm.dest(), dm.module, true, func(c *Config) {
		c.PasswordFile = pw
		c.Delay, c.MaxDelay = time.Hour, time.Hour
	})
	h.write("a", "a")
	h.write("b", "b")
	h.stop() // Run is gone, as at shutdown
	rep, err := h.eng.Flush(context.Background())
	if err != nil || rep.Pending != 0 {
		t.Fatalf("flush: %+v %v", rep, err)
	}
	compareTrees(t, h.src, h.dst, nil)

	dm.stop()
	h.write("c", "c")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	rep, err = h.eng.Flush(ctx)
	if err == nil || rep.Pending != 1 || len(rep.Paths) != 1 || rep.Paths[0] != "c" {
		t.Fatalf("flush with the daemon down: %+v %v", rep, err)
	}
	t.Logf("flush error: %v", err)
}

func TestProbe(t *testing.T) {
	dm := startDaemon(t)
	good := passwordFile(t, daemonPass)
	bad := passwordFile(t, "nope")
	other := dm.dest()
	other.Module = "nomod"
	closed := dm.dest()
	closed.Port = freePort(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	mustWrite(t, file, "x")
	tests := []struct {
		name  string
		cfg   Config
		class Class
		msg   string
	}{
		{"daemon ok", Config{Dest: dm.dest(), PasswordFile: good}, ClassOK, ""},
		{"wrong password", Config{Dest: dm.dest(), PasswordFile: bad}, ClassAuth, "refused the password for user rsyncuser on module mod"},
		{"unknown module", Config{Dest: other, PasswordFile: good}, ClassUnknownModule, `has no module "nomod"`},
		{"connection refused", Config{Dest: closed, PasswordFile: good}, ClassConnect, "Connection refused"},
		{"local ok", Config{Dest: Destination{Kind: DestLocal, LocalDir: dir}}, ClassOK, ""},
		{"local missing", Config{Dest: Destination{Kind: DestLocal, LocalDir: filepath.Join(dir, "nope")}}, ClassOther, "does not exist"},
		{"local file", Config{Dest: Destination{Kind: DestLocal, LocalDir: file}}, ClassOther, "is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Probe(context.Background(), testConfig(func(c *Config) { c.Dest, c.PasswordFile = tt.cfg.Dest, tt.cfg.PasswordFile }))
			if tt.class == ClassOK {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.msg) || strings.HasSuffix(err.Error(), "retrying") {
				t.Fatalf("error = %v, want %q", err, tt.msg)
			}
			var re *RsyncError
			if tt.class != ClassOther && (!errors.As(err, &re) || re.Class != tt.class) {
				t.Errorf("class = %v, want %v", re, tt.class)
			}
		})
	}
}

func TestEngineEventsDuringInitialSync(t *testing.T) {
	dst := t.TempDir()
	d, _ := ParseDestination(dst)
	h := newHarness(t, d, dst, false, func(c *Config) { c.InitialSync = true })
	for i := range 3000 {
		mustWrite(t, h.abs(filepath.Join("bulk", strconv.Itoa(i%30), strconv.Itoa(i))), "x")
	}
	mustWrite(t, filepath.Join(dst, "bulk", "stale"), "gone after the initial sync")
	h.start()
	waitFor(t, "initial sync to start", func() bool { st := h.eng.Status(); return st.InitialSync.Running || st.InitialSync.Done })
	h.write("during", "1")
	h.write("tmp", "2")
	h.removeAll("tmp") // must not be treated as born: rsync may have copied it
	h.removeAll("bulk/7")
	h.mustSync()
	compareTrees(t, h.src, h.dst, nil)
	if st := h.eng.Status(); !st.InitialSync.Done || st.Pending != 0 {
		t.Errorf("status: %+v", st)
	}
}
