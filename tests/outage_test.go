package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

const convergeTimeout = 60 * time.Second

// waitFailing waits until status shows queued work and an error containing
// one of the |-separated words in want (case-insensitive; "" accepts any).
func (m *Mirror) waitFailing(t *testing.T, want string) status {
	t.Helper()
	var st status
	testkit.Eventually(t, convergeTimeout, func() (bool, string) {
		st = m.Status(t)
		queued := st.num("pending")+st.num("in_flight") > 0
		errText := strings.ToLower(st.str("last_error"))
		matches := want == ""
		for _, w := range strings.Split(want, "|") {
			matches = matches || strings.Contains(errText, w)
		}
		ok := queued && errText != "" && matches && st.num("consecutive_failures") > 0
		return ok, fmt.Sprintf("want pending>0, consecutive_failures>0 and last_error containing %q; status: %v", want, st)
	})
	return st
}

func writeMany(t *testing.T, dir, prefix string, n int) {
	t.Helper()
	for i := range n {
		write(t, filepath.Join(dir, fmt.Sprintf("%s%03d", prefix, i)), fmt.Sprintf("%s %d\n", prefix, i))
	}
}

// TestDaemonOutage stops the daemon while changes are made: they stay
// queued, status says why, and everything arrives once it is back.
func TestDaemonOutage(t *testing.T) {
	m := mountMirror(t, mountOptions{})
	writeMany(t, m.Mnt, "before", 10)
	m.assertMirrored(t, testkit.CompareOptions{})

	m.Daemon.Stop()
	t.Cleanup(m.Daemon.Start) // lets the unmount flush even when the test failed
	writeMany(t, m.Mnt, "during", 20)
	must(t, os.Remove(filepath.Join(m.Mnt, "before000")))
	must(t, os.Rename(filepath.Join(m.Mnt, "before001"), filepath.Join(m.Mnt, "renamed")))
	m.waitFailing(t, "")
	if exists(t, filepath.Join(m.Daemon.Dir, "during000")) {
		t.Fatal("module changed while the daemon was down?")
	}
	writeMany(t, m.Mnt, "later", 5) // still down, after failures began
	time.Sleep(2 * time.Second)     // a few seconds of outage, with retries

	m.Daemon.Start()
	m.assertMirrored(t, testkit.CompareOptions{})
	st := m.Status(t)
	if st.num("consecutive_failures") != 0 || st.num("pending") != 0 {
		t.Errorf("after recovery: consecutive_failures and pending should be 0: %v", st)
	}
	if st.total("failures") == 0 && st.total("retries") == 0 {
		t.Errorf("status totals do not count the failed attempts: %v", st["totals"])
	}
}

// TestWrongPassword breaks the password file while running: changes queue
// up with an auth error, and fixing the file heals without a restart.
func TestWrongPassword(t *testing.T) {
	m := mountMirror(t, mountOptions{})
	write(t, m.Mnt+"/first", "1")
	m.assertMirrored(t, testkit.CompareOptions{})

	must(t, os.WriteFile(m.Daemon.PasswordFile, []byte("wrong password\n"), 0o600))
	t.Cleanup(func() { // lets the unmount flush even when the test failed
		os.WriteFile(m.Daemon.PasswordFile, []byte(m.Daemon.Password+"\n"), 0o600)
	})
	writeMany(t, m.Mnt, "queued", 10)
	must(t, os.Remove(m.Mnt+"/first"))
	st := m.waitFailing(t, "auth|password")
	if strings.Contains(st.String(), "wrong password") || strings.Contains(st.String(), m.Daemon.Password) {
		t.Errorf("status leaks the password: %v", st)
	}
	if !exists(t, m.Daemon.Dir+"/first") || exists(t, m.Daemon.Dir+"/queued000") {
		t.Fatal("module changed with a wrong password?")
	}

	must(t, os.WriteFile(m.Daemon.PasswordFile, []byte(m.Daemon.Password+"\n"), 0o600))
	m.assertMirrored(t, testkit.CompareOptions{})
	if log := m.logText(); strings.Contains(log, "wrong password") {
		t.Errorf("mirrorfs log leaks the password file's contents")
	}
}

// TestUnreachableAtStart: a destination that is down when mirrorfs starts
// is not fatal; mirrorfs mounts, queues and catches up once it appears.
// The daemon is started and stopped first so that its port is known to be
// free and closed, then restarted on the same port.
func TestUnreachableAtStart(t *testing.T) {
	requireE2E(t)
	d := testkit.StartDaemon(t, testkit.DaemonOptions{})
	d.Stop()
	m := mountMirror(t, mountOptions{Daemon: d, Setup: func(t *testing.T, dir string) {
		write(t, dir+"/present-at-start", "p")
	}})
	write(t, m.Mnt+"/while-down", "w")
	m.waitFailing(t, "")
	d.Start()
	m.assertMirrored(t, testkit.CompareOptions{})
}

// TestLongOpenWriter keeps one file open and written for several times
// --max-delay: the module gets newer versions while it is still open.
func TestLongOpenWriter(t *testing.T) {
	m := mountMirror(t, mountOptions{Args: []string{"--max-delay", "1s"}})
	f, err := os.Create(filepath.Join(m.Mnt, "growing.log"))
	must(t, err)
	t.Cleanup(func() { f.Close() }) // before the unmount, even on failure
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := fmt.Fprintf(f, "record %06d %s\n", i, strings.Repeat("x", 200)); err != nil {
				werr = err
				return
			}
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	modFile := filepath.Join(m.Daemon.Dir, "growing.log")
	size := func() int64 {
		fi, err := os.Stat(modFile)
		if err != nil {
			return -1
		}
		return fi.Size()
	}
	var first int64
	testkit.Eventually(t, convergeTimeout, func() (bool, string) {
		first = size()
		return first > 0, fmt.Sprintf("module copy of the open file has size %d, want > 0", first)
	})
	testkit.Eventually(t, convergeTimeout, func() (bool, string) {
		s := size()
		return s > first, fmt.Sprintf("module copy still %d bytes (first seen %d) while the writer keeps writing", s, first)
	})
	close(stop)
	wg.Wait()
	if werr != nil {
		t.Fatalf("writer: %v", werr)
	}
	must(t, f.Close())
	m.assertMirrored(t, testkit.CompareOptions{})
}

// TestUnmountWithDaemonDown: when the flush cannot finish, unmount says
// what is still pending and the documented exit code 5 is used; the data
// stays in the directory.
func TestUnmountWithDaemonDown(t *testing.T) {
	m := mountMirror(t, mountOptions{Args: []string{"--flush-timeout", "3s"}})
	write(t, m.Mnt+"/shipped", "s")
	m.Sync(t)
	m.Daemon.Stop()
	writeMany(t, m.Mnt, "pending", 5)
	m.waitFailing(t, "")
	out, code := m.Unmount(t)
	if code != exitcode.Flush {
		t.Errorf("mirrorfs unmount with the daemon down: exit %d, want 5 (flush incomplete); output: %s", code, out)
	}
	if !strings.Contains(out, "pending") && !strings.Contains(out, "5") {
		t.Errorf("unmount output should say what is still pending: %s", out)
	}
	if ec := m.Wait(t); ec != exitcode.Flush {
		t.Errorf("mirrorfs mount exit %d after an incomplete flush, want 5", ec)
	}
	if fstype, _ := mountType(m.Mnt); fstype != "" {
		t.Errorf("still mounted (%s) after unmount", fstype)
	}
	if got := readFile(t, m.Mnt+"/pending004"); got != "pending 4\n" {
		t.Errorf("backing directory lost a pending file: %q", got)
	}
}
