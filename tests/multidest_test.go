package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// secondName is the config-file section of the second destination; the
// first is named by its destination string.
const secondName = "second"

// mountTwo mounts one mirrorfs with two destinations: first from --dest
// (named by its URL), second from a [dest second] section with its own
// password file.
func mountTwo(t *testing.T, first, second *testkit.Daemon, mnt string, args ...string) *Mirror {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "mirrorfs.conf")
	section := fmt.Sprintf("[dest %s]\ndest = %s\npassword-file = %s\n", secondName, second.URL(), second.PasswordFile)
	must(t, os.WriteFile(conf, []byte(section), 0o600))
	return mountMirror(t, mountOptions{Daemon: first, Mnt: mnt, Args: append([]string{"--config", conf}, args...)})
}

// destStatus returns status' destinations[i].
func (s status) dest(i int) status {
	list, _ := s["destinations"].([]any)
	if i >= len(list) {
		return nil
	}
	d, _ := list[i].(map[string]any)
	return d
}

// syncDest runs `sync --wait --dest NAME` and returns how long it took.
func (m *Mirror) syncDest(t *testing.T, name string) time.Duration {
	t.Helper()
	start := time.Now()
	out, errOut, code := m.cli(t, "sync", "--wait", "--dest", name, "--timeout", syncTimeout.String(), m.Mnt)
	if code != 0 {
		t.Fatalf("mirrorfs sync --wait --dest %s: exit %d: %s%s\nstatus: %s", name, code, out, errOut, m.statusText(t))
	}
	return time.Since(start)
}

// burstFiles is the burst of the outage test: creates, rewrites, a rename
// and deletes.
func burstFiles(t *testing.T, dir string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Join(dir, "burst"), 0o755))
	writeMany(t, filepath.Join(dir, "burst"), "f", 300)
	for i := range 20 {
		write(t, filepath.Join(dir, "burst", fmt.Sprintf("f%03d", i)), "rewritten\n")
	}
	must(t, os.Rename(filepath.Join(dir, "burst", "f299"), filepath.Join(dir, "burst", "renamed")))
	for i := 280; i < 290; i++ {
		must(t, os.Remove(filepath.Join(dir, "burst", fmt.Sprintf("f%03d", i))))
	}
}

// TestMultiDestOutage: with two destinations, one daemon is stopped for 30 s
// during a burst. The other converges about as fast as one destination
// alone, `sync --wait --dest` waits for it only, the stopped one catches up
// once it is back, and nothing is lost on either.
func TestMultiDestOutage(t *testing.T) {
	requireE2E(t)

	// One destination alone: the reference figure.
	alone := mountMirror(t, mountOptions{})
	burstFiles(t, alone.Mnt)
	start := time.Now()
	alone.Sync(t)
	aloneTook := time.Since(start)
	testkit.AssertTreesEqual(t, alone.Data(), alone.Daemon.Dir, testkit.CompareOptions{})
	if out, code := alone.Unmount(t); code != 0 {
		t.Fatalf("unmount of the one-destination mount: exit %d: %s", code, out)
	}

	first := testkit.StartDaemon(t, testkit.DaemonOptions{})
	second := testkit.StartDaemon(t, testkit.DaemonOptions{})
	m := mountTwo(t, first, second, "")
	write(t, filepath.Join(m.Mnt, "before"), "both up\n")
	m.Sync(t)
	testkit.AssertTreesEqual(t, m.Data(), first.Dir, testkit.CompareOptions{})
	testkit.AssertTreesEqual(t, m.Data(), second.Dir, testkit.CompareOptions{})

	st := m.Status(t)
	if n := len(st["destinations"].([]any)); n != 2 {
		t.Fatalf("status lists %d destinations, want 2: %v", n, st)
	}
	firstName := st.dest(0).str("name")
	if firstName != first.URL() || st.dest(1).str("name") != secondName {
		t.Errorf("destination names %q, %q; want %q, %q", firstName, st.dest(1).str("name"), first.URL(), secondName)
	}

	second.Stop()
	down := time.Now()
	t.Cleanup(second.Start) // lets the unmount flush even when the test failed
	burstFiles(t, m.Mnt)
	multiTook := m.syncDest(t, firstName)
	t.Logf("burst of 300 creates, 20 rewrites, a rename and 10 deletes; from its end until sync --wait returned: one destination alone %v; "+
		"with a second destination down, the first converged in %v", aloneTook.Round(time.Millisecond), multiTook.Round(time.Millisecond))
	testkit.AssertTreesEqual(t, m.Data(), first.Dir, testkit.CompareOptions{})
	// A generous bound: a down destination must not stall the other, but
	// this machine is shared and timings swing.
	if multiTook > 5*aloneTook+10*time.Second {
		t.Errorf("the up destination took %v with the other down, against %v alone: the down one delays it", multiTook, aloneTook)
	}
	if exists(t, filepath.Join(second.Dir, "burst")) {
		t.Fatal("the stopped daemon's module changed?")
	}

	st = m.Status(t)
	if d := st.dest(1); d.num("pending")+d.num("in_flight") == 0 || d.num("consecutive_failures") == 0 && d.str("last_error") == "" {
		// The first retry may not have failed yet; give it time.
		testkit.Eventually(t, convergeTimeout, func() (bool, string) {
			d := m.Status(t).dest(1)
			return d.num("pending")+d.num("in_flight") > 0 && d.num("consecutive_failures") > 0, "second destination: " + d.String()
		})
	}
	if d := m.Status(t).dest(0); d.num("pending") != 0 || d.num("consecutive_failures") != 0 {
		t.Errorf("the up destination is not idle: %v", d)
	}
	if st := m.Status(t); st.num("pending") == 0 || st.num("consecutive_failures") == 0 {
		t.Errorf("the aggregate should show the down destination's pending changes and failures: %v", st)
	}
	if text := m.statusTextPlain(t); !strings.Contains(text, "destination "+secondName) || !strings.Contains(text, "destination "+firstName) {
		t.Errorf("status text does not list each destination:\n%s", text)
	}

	// sync --wait for all of them cannot finish while one is down.
	if code, errOut := m.SyncCode(t, 2*time.Second); code == 0 {
		t.Errorf("sync --wait for all destinations succeeded with one down: %s", errOut)
	}
	_, errOut, code := m.cli(t, "sync", "--wait", "--dest", "nosuch", m.Mnt)
	if code != exitcode.Usage || !strings.Contains(errOut, "nosuch") || !strings.Contains(errOut, secondName) || strings.Count(errOut, "\n") != 1 {
		t.Errorf("sync --dest nosuch: exit %d, want %d and one line naming the destinations: %q", code, exitcode.Usage, errOut)
	}

	writeMany(t, m.Mnt, "late", 10) // still down
	time.Sleep(30*time.Second - time.Since(down))
	second.Start()
	m.Sync(t) // all destinations
	testkit.AssertTreesEqual(t, m.Data(), first.Dir, testkit.CompareOptions{})
	testkit.AssertTreesEqual(t, m.Data(), second.Dir, testkit.CompareOptions{})
	if d := m.Status(t).dest(1); d.num("pending") != 0 || d.num("consecutive_failures") != 0 {
		t.Errorf("after the outage the second destination is not idle: %v", d)
	}
}

// TestMultiDestUnmountOneDown: unmount with one destination down until
// flush-timeout exits with the flush code and names it; a remount (without
// initial sync) ships what its journal owed to it alone.
func TestMultiDestUnmountOneDown(t *testing.T) {
	requireE2E(t)
	first := testkit.StartDaemon(t, testkit.DaemonOptions{})
	second := testkit.StartDaemon(t, testkit.DaemonOptions{})
	state := stateDirArg(t)
	m := mountTwo(t, first, second, "", state, "--flush-timeout", "3s")
	write(t, filepath.Join(m.Mnt, "shipped"), "s\n")
	m.Sync(t)

	second.Stop()
	t.Cleanup(second.Start)
	writeMany(t, m.Mnt, "owed", 20)
	m.syncDest(t, first.URL())
	out, code := m.Unmount(t)
	t.Logf("unmount with %s down: exit %d: %s", secondName, code, strings.TrimSpace(out))
	if code != exitcode.Flush || !strings.Contains(out, secondName) || strings.Contains(out, first.URL()+" (") {
		t.Errorf("unmount with %s down: exit %d, want %d naming only it: %s", secondName, code, exitcode.Flush, out)
	}
	if !strings.Contains(out, "journal") {
		t.Errorf("unmount should say the journal keeps what %s is owed: %s", secondName, out)
	}
	if ec := m.Wait(t); ec != exitcode.Flush {
		t.Errorf("mirrorfs mount exit %d after an incomplete flush, want %d", ec, exitcode.Flush)
	}
	testkit.AssertTreesEqual(t, m.Data(), first.Dir, testkit.CompareOptions{})
	if exists(t, filepath.Join(second.Dir, "owed000")) {
		t.Fatal("the stopped daemon's module changed?")
	}

	second.Start()
	// No initial sync: only the journal can bring the owed changes.
	r := mountTwo(t, first, second, m.Mnt, state, "--no-initial-sync")
	r.Sync(t)
	testkit.AssertTreesEqual(t, r.Data(), first.Dir, testkit.CompareOptions{})
	testkit.AssertTreesEqual(t, r.Data(), second.Dir, testkit.CompareOptions{})
	st := r.Status(t)
	replayed := func(i int) float64 {
		rec, _ := st.dest(i)["recovery"].(map[string]any)
		v, _ := rec["replayed"].(float64)
		return v
	}
	if replayed(0) != 0 || replayed(1) == 0 {
		t.Errorf("replayed from the journals: first %v, second %v; want 0 and the owed changes", replayed(0), replayed(1))
	}
}

// statusTextPlain is `mirrorfs status` without --json.
func (m *Mirror) statusTextPlain(t *testing.T) string {
	t.Helper()
	out, errOut, code := m.cli(t, "status", m.Mnt)
	if code != 0 {
		t.Fatalf("mirrorfs status: exit %d: %s", code, errOut)
	}
	return out
}

// TestMultiDestLegacyJournal: a journal of the one-destination layout
// (directly in the mountpoint's state directory) is not lost. One
// destination adopts it and ships what it holds without an initial sync;
// with two, it is set aside and both run an initial sync, which ships it.
func TestMultiDestLegacyJournal(t *testing.T) {
	for _, two := range []bool{false, true} {
		t.Run(fmt.Sprintf("two=%v", two), func(t *testing.T) {
			requireE2E(t)
			state := filepath.Join(t.TempDir(), "state")
			first := testkit.StartDaemon(t, testkit.DaemonOptions{})
			m := mountMirror(t, mountOptions{Daemon: first, Args: []string{"--state-dir", state, "--flush-timeout", "2s"}})
			write(t, filepath.Join(m.Mnt, "shipped"), "s\n")
			m.Sync(t)
			first.Stop()
			t.Cleanup(first.Start)
			writeMany(t, m.Mnt, "owed", 10)
			if out, code := m.Unmount(t); code != exitcode.Flush {
				t.Fatalf("unmount with the daemon down: exit %d, want %d: %s", code, exitcode.Flush, out)
			}
			m.Wait(t)
			// Turn the journal into the old layout.
			dirs, _ := filepath.Glob(filepath.Join(state, "*", "dest-*"))
			if len(dirs) != 1 {
				t.Fatalf("want one destination journal directory, found %v", dirs)
			}
			must(t, os.Rename(filepath.Join(dirs[0], "journal"), filepath.Join(filepath.Dir(dirs[0]), "journal")))
			must(t, os.RemoveAll(dirs[0]))
			first.Start()

			var r *Mirror
			if two {
				second := testkit.StartDaemon(t, testkit.DaemonOptions{})
				r = mountTwo(t, first, second, m.Mnt, "--state-dir", state, "--no-initial-sync")
				r.Sync(t)
				testkit.AssertTreesEqual(t, r.Data(), second.Dir, testkit.CompareOptions{})
				if log := r.logText(); !strings.Contains(log, "does not say which destination") {
					t.Errorf("the log does not say why both destinations run an initial sync:\n%s", log)
				}
				if aside, _ := filepath.Glob(filepath.Join(state, "*", "journal.unadopted-*")); len(aside) != 1 {
					t.Errorf("the old journal was not kept aside: %v", aside)
				}
			} else {
				r = mountMirror(t, mountOptions{Daemon: first, Mnt: m.Mnt, Args: []string{"--state-dir", state, "--no-initial-sync"}})
				r.Sync(t)
				if rec := r.Status(t).recovery(); rec["replayed"].(float64) == 0 {
					t.Errorf("the adopted journal replayed nothing: %v", rec)
				}
			}
			testkit.AssertTreesEqual(t, r.Data(), first.Dir, testkit.CompareOptions{})
		})
	}
}

// TestMultiDestUnreachableAtStart: a destination that is down when the
// mount starts does not stop it; the other mirrors at once, the down one
// catches up when it appears, and `sync --full --dest` reaches it alone.
func TestMultiDestUnreachableAtStart(t *testing.T) {
	requireE2E(t)
	first := testkit.StartDaemon(t, testkit.DaemonOptions{})
	second := testkit.StartDaemon(t, testkit.DaemonOptions{})
	second.Stop()
	t.Cleanup(second.Start)
	m := mountTwo(t, first, second, "")
	writeMany(t, m.Mnt, "early", 10)
	m.syncDest(t, first.URL())
	testkit.AssertTreesEqual(t, m.Data(), first.Dir, testkit.CompareOptions{})

	second.Start()
	m.syncDest(t, secondName)
	testkit.AssertTreesEqual(t, m.Data(), second.Dir, testkit.CompareOptions{})
	// A file put into the second module behind mirrorfs's back: only a
	// full sync of that destination removes it.
	write(t, filepath.Join(second.Dir, "extra"), "x\n")
	if _, errOut, code := m.cli(t, "sync", "--full", "--wait", "--dest", secondName, "--timeout", syncTimeout.String(), m.Mnt); code != 0 {
		t.Fatalf("sync --full --wait --dest %s: exit %d: %s", secondName, code, errOut)
	}
	testkit.AssertTreesEqual(t, m.Data(), second.Dir, testkit.CompareOptions{})
}

// TestMultiDestCheck: `mirrorfs check MOUNTPOINT` on a mount with two
// destinations checks each, with its own password file, named; a
// stopped one fails by its name while the other stays OK.
func TestMultiDestCheck(t *testing.T) {
	requireE2E(t)
	first := testkit.StartDaemon(t, testkit.DaemonOptions{})
	second := testkit.StartDaemon(t, testkit.DaemonOptions{})
	m := mountTwo(t, first, second, "")
	lines, code, out := runCheck(t, m.env(), m.Mnt)
	if code != 0 {
		t.Fatalf("check %s: exit %d, want 0:\n%s", m.Mnt, code, out)
	}
	for _, want := range []string{secondName + ": destination writable", secondName + ": live: changes shipped"} {
		if l, ok := findCheck(lines, want); !ok || l.Result != "OK" {
			t.Errorf("check %q: %+v, want OK:\n%s", want, l, out)
		}
	}
	writable := 0
	for _, l := range lines {
		if strings.HasSuffix(l.Check, ": destination writable") && l.Result == "OK" {
			writable++
		}
	}
	if writable != 2 {
		t.Errorf("%d destinations checked writable, want 2:\n%s", writable, out)
	}

	second.Stop()
	lines, code, out = runCheck(t, m.env(), m.Mnt)
	if code == 0 {
		t.Errorf("check with %s stopped: exit 0, want a failure:\n%s", secondName, out)
	}
	failed := false
	for _, l := range lines {
		if l.Result == "FAIL" {
			if !strings.HasPrefix(l.Check, secondName+": ") {
				t.Errorf("check %q failed, but only %s is down:\n%s", l.Check, secondName, out)
			}
			failed = true
		}
	}
	if !failed {
		t.Errorf("no check failed with %s stopped:\n%s", secondName, out)
	}
}

// TestMultiDestVerify: verify compares every destination of the mount; a
// file changed on one module behind mirrorfs's back is a difference of
// that destination only, --repair fixes it there, and --dest limits the
// comparison to one destination.
func TestMultiDestVerify(t *testing.T) {
	requireE2E(t)
	first := testkit.StartDaemon(t, testkit.DaemonOptions{})
	second := testkit.StartDaemon(t, testkit.DaemonOptions{})
	m := mountTwo(t, first, second, "")
	write(t, filepath.Join(m.Mnt, "f"), "through the mount\n")
	m.Sync(t)
	write(t, filepath.Join(second.Dir, "f"), "changed behind mirrorfs's back\n")

	type reply struct {
		Count        int `json:"count"`
		Destinations []struct {
			Dest        string `json:"dest"`
			Count       int    `json:"count"`
			Differences []struct {
				Path string `json:"path"`
			} `json:"differences"`
		} `json:"destinations"`
	}
	run := func(args ...string) (reply, int, string) {
		out, errOut, code := m.cli(t, append(append([]string{"verify", "--json", "--timeout", syncTimeout.String()}, args...), m.Mnt)...)
		var r reply
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("verify --json %v (exit %d): %v\n%s%s", args, code, err, out, errOut)
		}
		return r, code, out + errOut
	}
	r, code, out := run()
	if code != exitcode.Differ || r.Count != 1 || len(r.Destinations) != 2 {
		t.Fatalf("verify: exit %d, count %d, %d destinations; want exit %d, 1 difference over 2 destinations:\n%s", code, r.Count, len(r.Destinations), exitcode.Differ, out)
	}
	for _, d := range r.Destinations {
		want := 0
		if d.Dest == secondName {
			want = 1
		}
		if d.Count != want {
			t.Errorf("destination %s: %d difference(s), want %d:\n%s", d.Dest, d.Count, want, out)
		}
	}
	if _, code, out := run("--dest", m.Daemon.URL()); code != 0 {
		t.Errorf("verify --dest %s (the unchanged one): exit %d, want 0:\n%s", m.Daemon.URL(), code, out)
	}
	if _, code, out := run("--repair"); code != 0 {
		t.Fatalf("verify --repair: exit %d, want 0:\n%s", code, out)
	}
	if _, code, out := run(); code != 0 {
		t.Errorf("verify after the repair: exit %d, want 0:\n%s", code, out)
	}
	testkit.AssertTreesEqual(t, m.Data(), second.Dir, testkit.CompareOptions{})
}
