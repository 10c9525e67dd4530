package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func valid() Config {
	c := Defaults()
	c.Dest = "rsync://127.0.0.1/m"
	return c
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open")
	if err := os.WriteFile(open, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o604); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"defaults with dest", func(*Config) {}, ""},
		{"no dest", func(c *Config) { c.Dest = "" }, "no destination: set dest"},
		{"blank dest", func(c *Config) { c.Dest = "  " }, "no destination"},
		{"zero delay", func(c *Config) { c.Delay = 0 }, ""},
		{"negative delay", func(c *Config) { c.Delay = -time.Second }, "delay -1s: must not be negative"},
		{"delay equals max", func(c *Config) { c.Delay = c.MaxDelay }, ""},
		{"delay above max", func(c *Config) { c.Delay = 3 * time.Second }, "delay 3s is longer than max-delay 2s"},
		{"max-delay 1h", func(c *Config) { c.MaxDelay = time.Hour }, ""},
		{"max-delay 0", func(c *Config) { c.MaxDelay = 0 }, "max-delay 0s: must be a positive time; to ship at once use delay=0"},
		{"negative max-delay", func(c *Config) { c.MaxDelay = -time.Second }, "max-delay -1s: must be a positive time"},
		{"delay 0 and max-delay 0", func(c *Config) { c.Delay, c.MaxDelay = 0, 0 }, "max-delay 0s: must be a positive time"},
		{"delay 0 and max-delay 1ms", func(c *Config) { c.Delay, c.MaxDelay = 0, time.Millisecond }, ""},
		{"max-delay over 1h", func(c *Config) { c.MaxDelay = time.Hour + time.Second }, "max-delay 1h0m1s: at most 1h0m0s"},
		{"flush-timeout 0", func(c *Config) { c.FlushTimeout = 0 }, "flush-timeout 0s: must be more than 0"},
		{"timeout 0", func(c *Config) { c.Timeout = 0 }, "timeout 0s: must be at least 1s"},
		{"contimeout sub-second", func(c *Config) { c.ConTimeout = 500 * time.Millisecond }, "contimeout 500ms: must be at least 1s"},
		{"bad log level", func(c *Config) { c.LogLevel = "loud" }, `log-level "loud": not a log level`},
		{"empty rsync", func(c *Config) { c.Rsync = "" }, "rsync: empty binary name"},
		{"password file ok", func(c *Config) { c.PasswordFile = secret }, ""},
		{"inline password", func(c *Config) { c.PasswordFile = "hunter2" }, "password-file takes a path to a file holding the password, not the password itself"},
		{"password stdin", func(c *Config) { c.PasswordFile = "-" }, `password-file "-": rsync's stdin carries the file list`},
		{"several errors", func(c *Config) { c.Dest = ""; c.Timeout = 0 }, "no destination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mod(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate error = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidateDoesNotEchoInlinePassword(t *testing.T) {
	c := valid()
	c.PasswordFile = "s3cr3t-pw"
	err := c.Validate()
	if err == nil || strings.Contains(err.Error(), "s3cr3t-pw") {
		t.Errorf("error = %v; must exist and must not contain the value", err)
	}
}

func TestValidateMakesPathsAbsolute(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("secret", []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := valid()
	c.Source, c.Mountpoint, c.PasswordFile = "src/../data", "mnt/", "secret"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Config{Source: filepath.Join(dir, "data"), Mountpoint: filepath.Join(dir, "mnt"), PasswordFile: filepath.Join(dir, "secret")}
	if c.Source != want.Source || c.Mountpoint != want.Mountpoint || c.PasswordFile != want.PasswordFile {
		t.Errorf("got source %q mountpoint %q password-file %q, want %q %q %q",
			c.Source, c.Mountpoint, c.PasswordFile, want.Source, want.Mountpoint, want.PasswordFile)
	}
}
