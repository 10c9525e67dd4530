package mirror

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testConfig starts from the defaults, as mirrorfs does, and applies set.
func testConfig(set func(*Config)) Config {
	c := DefaultConfig()
	set(&c)
	return c
}

// TestNewTakesValuesAsGiven: New keeps explicit values, zero included, and
// refuses nonsense instead of replacing it.
func TestNewTakesValuesAsGiven(t *testing.T) {
	src, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	tests := []struct {
		name    string
		set     func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"delay 0 ships at once", func(c *Config) { c.Delay = 0 }, ""},
		{"delay equals max-delay", func(c *Config) { c.Delay, c.MaxDelay = time.Second, time.Second }, ""},
		{"negative delay", func(c *Config) { c.Delay = -time.Second }, "Delay -1s: must be positive"},
		{"max-delay 0", func(c *Config) { c.MaxDelay = 0 }, "MaxDelay 0s: must be positive"},
		{"max-delay below delay", func(c *Config) { c.Delay, c.MaxDelay = 3*time.Second, time.Second }, "MaxDelay 1s is below Delay 3s"},
		{"timeout 0", func(c *Config) { c.Timeout = 0 }, "Timeout 0s: must be positive"},
		{"negative contimeout", func(c *Config) { c.ConTimeout = -1 }, "ConTimeout -1ns"},
		{"retry 0", func(c *Config) { c.RetryMin = 0 }, "RetryMin 0s"},
		{"retry max below min", func(c *Config) { c.RetryMin, c.RetryMax = time.Minute, time.Second }, "retry maximum 1s is below the minimum 1m0s"},
		{"negative reconcile interval", func(c *Config) { c.ReconcileInterval = -time.Hour }, "ReconcileInterval"},
		{"no rsync", func(c *Config) { c.RsyncPath = "" }, "no rsync binary"},
		{"max-batch 0", func(c *Config) { c.MaxBatch = 0 }, "MaxBatch 0"},
		{"max-pending 0", func(c *Config) { c.MaxPending = 0 }, "MaxPending 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(func(c *Config) {
				c.Source, c.Dest = src, Destination{Kind: DestLocal, LocalDir: t.TempDir()}
				tt.set(c)
			})
			e, err := New(cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New error = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if e.cfg.Delay != cfg.Delay || e.cfg.MaxDelay != cfg.MaxDelay || e.cfg.Timeout != cfg.Timeout {
				t.Errorf("New changed the timing: delay %v max-delay %v timeout %v, given %v %v %v",
					e.cfg.Delay, e.cfg.MaxDelay, e.cfg.Timeout, cfg.Delay, cfg.MaxDelay, cfg.Timeout)
			}
		})
	}
}

// TestDelayZeroNoDebounce: with delay 0 a path that keeps changing ships
// while it changes; with any debounce and a long max-delay it would wait.
func TestDelayZeroNoDebounce(t *testing.T) {
	dst := t.TempDir()
	d, _ := ParseDestination(dst)
	h := newHarness(t, d, dst, true, func(c *Config) { c.Delay, c.MaxDelay = 0, time.Hour })
	shipped := func() bool { _, err := os.Stat(filepath.Join(dst, "busy")); return err == nil }
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; !shipped(); i++ {
		if time.Now().After(deadline) {
			t.Fatal("a path changed every 20ms never shipped with delay 0")
		}
		h.write("busy", strings.Repeat("x", i))
		time.Sleep(20 * time.Millisecond)
	}
}
