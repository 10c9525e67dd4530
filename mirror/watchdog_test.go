package mirror

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// fakeRsync writes a shell script that stands in for rsync.
func fakeRsync(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rsync")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// A run that does nothing is killed and reported as stalled; one that keeps
// writing, for longer than the stall period, is left alone.
func TestWatchdog(t *testing.T) {
	const stall = 600 * time.Millisecond
	tests := []struct {
		name    string
		script  string
		stalled bool
		code    int
	}{
		{"silent child", "sleep 30", true, -1},
		{"busy", "for i in $(seq 40); do printf '%4096s' x; sleep 0.05; done", false, 0},
		{"quick failure", "echo 'rsync: boom' >&2; exit 23", false, 23},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(func(c *Config) {
				c.Dest, c.RsyncPath = Destination{Kind: DestLocal, LocalDir: t.TempDir()}, fakeRsync(t, tt.script)
			})
			if err := cfg.setDefaults(); err != nil {
				t.Fatal(err)
			}
			r := execRsync(context.Background(), &cfg, []string{"-a"}, nil, stall)
			if (r.stalled > 0) != tt.stalled || r.code != tt.code {
				t.Fatalf("stalled %v, code %d; want stalled=%v code %d (stderr %q)", r.stalled, r.code, tt.stalled, tt.code, r.stderr)
			}
		})
	}
}

func TestStallAfter(t *testing.T) {
	c := Config{Timeout: 30 * time.Second}
	if got := c.stallAfter(modeList); got != 2*time.Minute {
		t.Errorf("list run: %v, want 2m", got)
	}
	if got := c.stallAfter(modeFull); got != 10*time.Minute {
		t.Errorf("full sync: %v, want 10m", got)
	}
}

// A run stuck opening a FIFO in the source is killed well before the stall
// period, and the path is reported relative to the source, whichever way
// the opener named it.
func TestWatchdogBlockedOpen(t *testing.T) {
	tests := []struct {
		name, script, want string
	}{
		{"through the source fd", "cat /proc/self/fd/3/sub/fifo", "sub/fifo"},
		{"relative to its cwd", "cd /proc/self/fd/3/sub && exec 4< fifo", "sub/fifo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := t.TempDir()
			if err := os.Mkdir(filepath.Join(src, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(filepath.Join(src, "sub", "fifo"), 0o644); err != nil {
				t.Fatal(err)
			}
			dir, err := os.Open(src)
			if err != nil {
				t.Fatal(err)
			}
			defer dir.Close()
			cfg := testConfig(func(c *Config) {
				c.Source, c.Dest, c.RsyncPath = dir, Destination{Kind: DestLocal, LocalDir: t.TempDir()}, fakeRsync(t, tt.script)
			})
			if err := cfg.setDefaults(); err != nil {
				t.Fatal(err)
			}
			r := execRsync(context.Background(), &cfg, nil, nil, time.Hour)
			if r.blocked != tt.want || r.stalled <= 0 || r.code != -1 {
				t.Fatalf("blocked %q, stalled %v, code %d; want %q, a stall, -1", r.blocked, r.stalled, r.code, tt.want)
			}
		})
	}
}
