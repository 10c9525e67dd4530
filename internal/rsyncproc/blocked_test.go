package rsyncproc

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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
