package mirror

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDestination(t *testing.T) {
	wd, _ := os.Getwd()
	tests := []struct {
		in      string
		want    Destination
		str     string
		arg     string
		wantErr string
	}{
		{in: "user@host::mod", want: Destination{Kind: DestDaemon, User: "user", Host: "host", Module: "mod"}, str: "rsync://user@host/mod", arg: "rsync://user@host/mod/"},
		{in: "host::mod/sub/dir/", want: Destination{Kind: DestDaemon, Host: "host", Module: "mod", Path: "sub/dir"}, str: "rsync://host/mod/sub/dir", arg: "rsync://host/mod/sub/dir/"},
		{in: "rsync://u@127.0.0.1:8730/mod/p", want: Destination{Kind: DestDaemon, User: "u", Host: "127.0.0.1", Port: 8730, Module: "mod", Path: "p"}, str: "rsync://u@127.0.0.1:8730/mod/p", arg: "rsync://u@127.0.0.1:8730/mod/p/"},
		{in: "rsync://host/mod", want: Destination{Kind: DestDaemon, Host: "host", Module: "mod"}, str: "rsync://host/mod"},
		{in: "rsync://[::1]:874/mod", want: Destination{Kind: DestDaemon, Host: "::1", Port: 874, Module: "mod"}, str: "rsync://[::1]:874/mod"},
		{in: "rsync://host:873/mod", want: Destination{Kind: DestDaemon, Host: "host", Port: 873, Module: "mod"}, str: "rsync://host/mod"},
		{in: "/srv/mirror/", want: Destination{Kind: DestLocal, LocalDir: "/srv/mirror"}, str: "/srv/mirror", arg: "/srv/mirror/"},
		{in: "rel/dir", want: Destination{Kind: DestLocal, LocalDir: filepath.Join(wd, "rel/dir")}},
		{in: "./a:b", want: Destination{Kind: DestLocal, LocalDir: filepath.Join(wd, "a:b")}},
		{in: "rsync://u:secret@host/mod", wantErr: "password must not be part of the destination URL"},
		{in: "u:secret@host::mod", wantErr: "password must not be part of the destination"},
		{in: "host:::mod", wantErr: `":::" is not valid`},
		{in: "host::", wantErr: "empty module name"},
		{in: "rsync://host/", wantErr: "empty module name"},
		{in: "rsync://host:99999/mod", wantErr: "bad port"},
		{in: "rsync://host:abc/mod", wantErr: "not a valid rsync:// URL"},
		{in: "host:/backup/", want: Destination{Kind: DestShell, Host: "host", Path: "/backup"}, str: "host:/backup", arg: "host:/backup/"},
		{in: "user@host:backup", want: Destination{Kind: DestShell, User: "user", Host: "host", Path: "backup"}, str: "user@host:backup", arg: "user@host:backup/"},
		{in: "u@[::1]:/srv/m", want: Destination{Kind: DestShell, User: "u", Host: "::1", Path: "/srv/m"}, str: "u@[::1]:/srv/m", arg: "u@[::1]:/srv/m/"},
		{in: "ssh://u@h:2222/srv/m", want: Destination{Kind: DestShell, User: "u", Host: "h", Port: 2222, Path: "/srv/m"}, str: "ssh://u@h:2222/srv/m", arg: "u@h:/srv/m/"},
		{in: "ssh://h:22/srv", want: Destination{Kind: DestShell, Host: "h", Path: "/srv"}, str: "h:/srv"},
		{in: "ssh://u:secret@h/srv", wantErr: "password must not be part"},
		{in: "u:secret@h:/srv", wantErr: "password must not be part"},
		{in: "host:", wantErr: "no directory after ':'"},
		{in: "ssh://host", wantErr: "no directory after ':'"},
		{in: "host:/a/../b", wantErr: `".." is not allowed`},
		{in: "ftp://host/x", wantErr: "unsupported URL scheme"},
		{in: "::mod", wantErr: "empty host name"},
		{in: "host::mod/../x", wantErr: `".." is not allowed`},
		{in: "", wantErr: "empty destination"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDestination(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if tt.str != "" && got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
			if tt.arg != "" && got.RsyncArg() != tt.arg {
				t.Errorf("RsyncArg() = %q, want %q", got.RsyncArg(), tt.arg)
			}
			if got.Kind == DestDaemon {
				again, err := ParseDestination(got.String())
				if err != nil || again.String() != got.String() {
					t.Errorf("String() does not round-trip: %q -> %+v, %v", got.String(), again, err)
				}
			}
		})
	}
}

func TestCheckPasswordFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{"0600 ok", write("ok", 0o600, "pw\n"), ""},
		{"0400 ok", write("ro", 0o400, "pw\n"), ""},
		{"0644 refused", write("world", 0o644, "pw\n"), "chmod 600"},
		{"0640 refused", write("group", 0o640, "pw\n"), "accessible by group or others (mode 0640)"},
		{"empty", write("empty", 0o600, ""), "is empty"},
		{"missing", filepath.Join(dir, "nope"), "does not exist"},
		{"directory", dir, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPasswordFile(tt.path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if os.Geteuid() == 0 {
		p := write("foreign", 0o600, "pw\n")
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if err := CheckPasswordFile(p); err == nil || !strings.Contains(err.Error(), "owned by root") {
			t.Errorf("foreign-owned file as root: %v", err)
		}
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		out     string
		want    string
		proto   int
		wantErr string
	}{
		{"rsync  version 3.5.0  protocol version 32\nCopyright...", "3.5.0", 32, ""},
		{"rsync  version v3.2.7  protocol version 31\n", "3.2.7", 31, ""},
		{"rsync  version 3.1.0  protocol version 31\n", "3.1.0", 31, ""},
		{"rsync  version 3.4.4  protocol version 32\n", "3.4.4", 32, ""},
		{"rsync  version 3.0.9  protocol version 30\n", "3.0.9", 30, "too old"},
		{"rsync  version 3.4.3  protocol version 32\n", "3.4.3", 32, "fixed in 3.4.4"},
		{"openrsync: protocol version 29\n", "", 0, "cannot find"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			v, err := parseVersion([]byte(tt.out))
			if err == nil {
				err = checkVersion(v)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || v.String() != tt.want || v.Protocol != tt.proto {
				t.Fatalf("got %v proto %d err %v", v, v.Protocol, err)
			}
		})
	}
}

func TestRsyncVersionInstalled(t *testing.T) {
	requireRsync(t)
	v, err := RsyncVersion(t.Context(), "rsync")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("installed: %s (%s)", v, v.Raw)
	if _, err := RsyncVersion(t.Context(), filepath.Join(t.TempDir(), "no-rsync")); err == nil || !strings.Contains(err.Error(), "install rsync") {
		t.Errorf("missing binary: %v", err)
	}
}
