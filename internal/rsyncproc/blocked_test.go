package rsyncproc

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// A child stuck opening a FIFO that has no writer is killed within
// seconds, long before the stall window, and the FIFO is named.
func TestBlockedOpen(t *testing.T) {
	tests := []struct {
		name       string
		body       string // $1 is the FIFO, $2 a file for the stuck process's PID
		byWchan    bool   // false: only the "same call, never woken" rule applies
		wantCallIn []string
	}{
		{"shell redirection", `echo $$ > "$2"; exec 3< "$1"`, true, []string{"open", "openat"}},
		{"cat in a grandchild", `cat "$1" & echo $! > "$2"; wait`, true, []string{"open", "openat"}},
		{"without the wait channel rule", `echo $$ > "$2"; exec 3< "$1"`, false, []string{"open", "openat"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.byWchan {
				saved := stuckWchans
				stuckWchans = map[string]bool{}
				t.Cleanup(func() { stuckWchans = saved })
			}
			dir := t.TempDir()
			fifo, pidFile := filepath.Join(dir, "victim"), filepath.Join(dir, "pid")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			r := Run(ctx, Spec{Path: script(t, tt.body), Args: []string{fifo, pidFile}, Stall: time.Hour})
			if r.Blocked == nil {
				t.Fatalf("not reported as blocked: code %d, cancelled %v, err %v", r.Code, r.Cancelled, r.Err())
			}
			b := r.Blocked
			if b.Path != fifo {
				t.Errorf("blocked path %q, want %q", b.Path, fifo)
			}
			if !contains(tt.wantCallIn, b.Syscall) {
				t.Errorf("syscall %q, want one of %v", b.Syscall, tt.wantCallIn)
			}
			if tt.byWchan && b.Wchan != "wait_for_partner" {
				t.Errorf("wait channel %q", b.Wchan)
			}
			if r.Code != -1 || r.Cancelled || r.Stalled != 0 {
				t.Errorf("code %d, cancelled %v, stalled %v", r.Code, r.Cancelled, r.Stalled)
			}
			stuck := waitPid(t, pidFile)
			if stuck != b.PID {
				t.Errorf("blamed pid %d, the opener was %d", b.PID, stuck)
			}
			eventually(t, 5*time.Second, "the stuck process to die", func() bool { return gone(stuck) })
			noneLeft(t)
			t.Logf("%v", r.Err())
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The case seen in the field: a real rsync sender built its file list with
// a regular file that became a FIFO before the sender opened it.
func TestRsyncSenderStuckOnFIFO(t *testing.T) {
	rsync := testkit.RequireTool(t, "rsync")
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	for _, d := range []string{filepath.Join(src, "d"), dst} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	big := make([]byte, 2<<20)
	rand.Read(big)
	victim := filepath.Join(src, "d", "victim")
	if err := errors.Join(os.WriteFile(filepath.Join(src, "big"), big, 0o644), os.WriteFile(victim, []byte("x"), 0o644)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan Result, 1)
	go func() {
		done <- Run(ctx, Spec{Path: rsync, Args: []string{"-a", "--bwlimit=500", "--timeout=5", "--files-from=-", "--from0", src + "/", dst + "/"},
			Stdin: []byte("big\x00d/victim\x00"), Stall: time.Hour})
	}()
	// Once big is being received the file list is built: swap the victim.
	eventually(t, 30*time.Second, "rsync to start receiving big", func() bool {
		m, _ := filepath.Glob(filepath.Join(dst, ".big.*"))
		return len(m) > 0
	})
	if err := errors.Join(os.Remove(victim), syscall.Mkfifo(victim, 0o644)); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.Blocked == nil {
		t.Fatalf("not reported as blocked: code %d, err %v, stderr %s", r.Code, r.Err(), r.Stderr)
	}
	if got := r.Blocked.Abs(); got != victim {
		t.Fatalf("blocked on %q (path %q in %q), want %q", got, r.Blocked.Path, r.Blocked.Dir, victim)
	}
	noneLeft(t) // the generator and receiver too
	t.Logf("%v", r.Err())
}
