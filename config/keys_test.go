package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestKeysUniqueAndSettable(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Keys() {
		if seen[k.Name] {
			t.Errorf("duplicate key %q", k.Name)
		}
		seen[k.Name] = true
		if k.Usage == "" {
			t.Errorf("key %q has no usage text", k.Name)
		}
		if IsMountOnlyOption(k.Name) {
			t.Errorf("key %q collides with a mount-only option", k.Name)
		}
		if k.Negatable && (k.Kind != KindBool || k.Default != "true") {
			t.Errorf("key %q: only booleans defaulting to true are negatable", k.Name)
		}
		var c Config
		value := map[Kind]string{KindString: "x", KindPath: "/x", KindDuration: "3s", KindBool: "true", KindInt: "5000", KindPort: "2222"}[k.Kind]
		if k.Name == "log-level" {
			value = "debug"
		}
		if k.Name == "events" {
			value = "create"
		}
		if v, ok := map[string]string{"metrics-listen": "9750", "hold-deletes": "100", "keep-versions": "10", "rsh": "ssh", "bwlimit": "10M"}[k.Name]; ok {
			value = v
		}
		if err := c.Set(k.Name, value); err != nil {
			t.Errorf("Set(%q, %q): %v", k.Name, value, err)
		}
		if reflect.DeepEqual(c, Config{}) {
			t.Errorf("Set(%q, %q) changed nothing", k.Name, value)
		}
	}
	for _, k := range Keys() {
		if k.Kind == KindBool && seen["no-"+k.Name] {
			t.Errorf("key no-%s shadows the negation of %q", k.Name, k.Name)
		}
	}
}

// The Default column must describe Defaults() exactly.
func TestKeysDefaultsMatch(t *testing.T) {
	var c Config
	for _, k := range Keys() {
		if k.Default == "" {
			continue
		}
		if err := c.Set(k.Name, k.Default); err != nil {
			t.Fatalf("Set(%q, %q): %v", k.Name, k.Default, err)
		}
	}
	if !reflect.DeepEqual(c, Defaults()) {
		t.Errorf("defaults from Keys() = %+v\nDefaults()         = %+v", c, Defaults())
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		key, value string
		check      func(Config) bool
		wantErr    string
	}{
		// durations
		{"delay", "200ms", func(c Config) bool { return c.Delay == 200*time.Millisecond }, ""},
		{"delay", "1m30s", func(c Config) bool { return c.Delay == 90*time.Second }, ""},
		{"max-delay", "5", func(c Config) bool { return c.MaxDelay == 5*time.Second }, ""},
		{"timeout", " 7 ", func(c Config) bool { return c.Timeout == 7*time.Second }, ""},
		{"delay", "abc", nil, `delay "abc": not a duration (use e.g. 200ms, 2s`},
		{"delay", "1.5", nil, "not a duration"},
		{"max-pending", "100_000", func(c Config) bool { return c.MaxPending == 100000 }, ""},
		{"max-pending", "lots", nil, `max-pending "lots": not a whole number`},
		{"max-pending", "10", nil, "at least 1000"},
		{"delay", "99999999999999", nil, "out of range"},
		{"delay", "", nil, `option "delay" needs a value`},
		// bools
		{"xattrs", "", func(c Config) bool { return c.Xattrs }, ""},
		{"xattrs", "yes", func(c Config) bool { return c.Xattrs }, ""},
		{"xattrs", "ON", func(c Config) bool { return c.Xattrs }, ""},
		{"xattrs", "1", func(c Config) bool { return c.Xattrs }, ""},
		{"initial-sync", "false", func(c Config) bool { return !c.InitialSync }, ""},
		{"initial-sync", "off", func(c Config) bool { return !c.InitialSync }, ""},
		{"initial-sync", "0", func(c Config) bool { return !c.InitialSync }, ""},
		{"no-initial-sync", "", func(c Config) bool { return !c.InitialSync }, ""},
		{"no-initial-sync", "false", func(c Config) bool { return c.InitialSync }, ""},
		{"no-acls", "", func(c Config) bool { return !c.ACLs }, ""},
		{"debug-fuse", "true", func(c Config) bool { return c.DebugFUSE }, ""},
		{"compress", "maybe", nil, `compress "maybe": not a boolean (use true or false, or write "compress" or "no-compress" alone)`},
		// strings and paths
		{"dest", "rsync://h/m/p", func(c Config) bool { return c.Dest == "rsync://h/m/p" }, ""},
		{"source", "rel/dir", func(c Config) bool { return c.Source == "rel/dir" }, ""},
		{"rsync", "/usr/local/bin/rsync", func(c Config) bool { return c.Rsync == "/usr/local/bin/rsync" }, ""},
		{"config", "/etc/m.conf", func(c Config) bool { return c.ConfigFile == "/etc/m.conf" }, ""},
		{"dest", "", nil, `option "dest" needs a value`},
		{"log-level", "DEBUG", func(c Config) bool { return c.LogLevel == "debug" }, ""},
		{"log-level", "warning", func(c Config) bool { return c.LogLevel == "warn" }, ""},
		{"log-level", "loud", nil, `log-level "loud": not a log level (use debug, info, warn or error)`},
		// hold-deletes, backup-dir, keep-versions
		{"hold-deletes", "5000", func(c Config) bool { return c.HoldDeletes == "5000" }, ""},
		{"hold-deletes", "20%", func(c Config) bool { return c.HoldDeletes == "20%" }, ""},
		{"hold-deletes", "0", nil, `hold-deletes "0": not a positive number of files or a percentage`},
		{"hold-deletes", "150%", nil, "not a percentage above 0 and at most 100"},
		{"hold-deletes", "many", nil, "not a positive number"},
		{"hold-window", "30s", func(c Config) bool { return c.HoldWindow == 30*time.Second }, ""},
		{"backup-dir", ".versions", func(c Config) bool { return c.BackupDir == ".versions" }, ""},
		{"backup-dir", "a/./b/", func(c Config) bool { return c.BackupDir == "a/b" }, ""},
		{"backup-dir", "/srv/v", nil, `backup-dir "/srv/v": an absolute path`},
		{"backup-dir", "../v", nil, "climbs out of the destination"},
		{"backup-dir", "a/../../v", nil, "climbs out of the destination"},
		{"backup-dir", ".", nil, "the destination itself"},
		{"keep-versions", "10,30d", func(c Config) bool { return c.KeepVersions == "10,30d" }, ""},
		{"keep-versions", "12h", func(c Config) bool { return c.KeepVersions == "12h" }, ""},
		{"keep-versions", "0", nil, "the count must be positive"},
		{"keep-versions", "10,20", nil, "given once"},
		{"keep-versions", "30x", nil, `keep-versions "30x": "30x" is neither a count nor an age`},
		{"keep-versions", "10,", nil, "empty part"},
		// unknown, negation of non-bools, mount-only, ro
		{"dely", "1s", nil, `unknown option "dely": did you mean "delay"?`},
		{"password_file", "/x", nil, `did you mean "password-file"?`},
		{"no-xatrs", "", nil, `did you mean "no-xattrs"?`},
		{"no-delay", "", nil, "unknown option"},
		{"nofail", "", func(c Config) bool { return reflect.DeepEqual(c, Defaults()) }, ""},
		{"x-systemd.after", "network.target", func(c Config) bool { return reflect.DeepEqual(c, Defaults()) }, ""},
		{"ro", "", nil, `"ro" refused`},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			c := Defaults()
			err := c.Set(tt.key, tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Set(%q, %q) error = %v, want containing %q", tt.key, tt.value, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Set(%q, %q): %v", tt.key, tt.value, err)
			}
			if !tt.check(c) {
				t.Errorf("Set(%q, %q) gave %+v", tt.key, tt.value, c)
			}
		})
	}
}

// The Default column is written from Defaults(), as a user would type it.
func TestKeysDefaultText(t *testing.T) {
	want := map[string]string{
		"delay": "200ms", "max-delay": "2s", "flush-timeout": "5m", "timeout": "30s",
		"initial-sync": "true", "xattrs": "false", "max-pending": "250000",
		"rsync": "rsync", "reconcile-interval": "", "dest": "",
	}
	for _, k := range Keys() {
		if w, ok := want[k.Name]; ok && k.Default != w {
			t.Errorf("%s: Default %q, want %q", k.Name, k.Default, w)
		}
	}
}

func TestMetricsListenAndHookTimeout(t *testing.T) {
	tests := []struct {
		key, value, err string
	}{
		{"metrics-listen", "127.0.0.1:9750", ""},
		{"metrics-listen", "unix:/run/m.sock", ""},
		{"metrics-listen", ":9750", ""},
		{"metrics-listen", "localhost:nope", "port"},
		{"metrics-listen", "unix:relative", "not absolute"},
		{"hook-timeout", "5s", ""},
		{"hook-timeout", "soon", "hook-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			c := Defaults()
			err := c.Set(tt.key, tt.value)
			if (err != nil) != (tt.err != "") || err != nil && !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Set(%q, %q) = %v, want error %q", tt.key, tt.value, err, tt.err)
			}
		})
	}
	c := Defaults()
	c.Dest, c.HookTimeout = "rsync://h/m", 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "hook-timeout") {
		t.Errorf("Validate with hook-timeout 0: %v", err)
	}
}
