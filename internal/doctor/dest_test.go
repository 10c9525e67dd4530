package doctor

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/mirror"
)

// The password reaches rsync by file path or by RSYNC_PASSWORD, never on
// its command line, and never both ways at once.
func TestRsyncPassword(t *testing.T) {
	t.Setenv("RSYNC_PASSWORD", "env-secret")
	fake := filepath.Join(t.TempDir(), "rsync")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"argv: $*\"\necho \"env: ${RSYNC_PASSWORD-unset}\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	dest := mirror.Destination{Kind: mirror.DestDaemon, Host: "127.0.0.1", Module: "m", User: "u"}
	tests := []struct {
		name, file string
		argv, env  string
	}{
		{"password file", "/etc/rsync.pass", "--password-file=/etc/rsync.pass", "env: unset"},
		{"environment", "", "", "env: env-secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Dest{Dest: dest, PasswordFile: tt.file, Rsync: fake, Timeout: time.Second, ConTimeout: time.Second}
			out, errOut, code := d.rsync(context.Background(), nil, "--list-only", "x")
			if code != 0 {
				t.Fatalf("code %d: %s", code, errOut)
			}
			if strings.Contains(firstLine(out), "secret") {
				t.Errorf("password on the command line: %q", out)
			}
			if !strings.Contains(out, tt.argv) || !strings.Contains(out, tt.env+"\n") {
				t.Errorf("output %q; want %q and %q", out, tt.argv, tt.env)
			}
		})
	}
}

// Over ssh the check's own rsync runs get the same -e as the mount's, and
// no direct-TCP option.
func TestRsyncOverSSH(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "rsync")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nfor a; do echo \"$a\"; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := Dest{Dest: mirror.Destination{Kind: mirror.DestShell, User: "root", Host: "h", Path: "/srv/m"}, PasswordFile: "/etc/pw",
		Rsync: fake, Timeout: time.Second, ConTimeout: time.Second, SSH: mirror.SSH{Port: 2222, KnownHosts: "/k/kh"}}
	out, errOut, code := d.rsync(context.Background(), nil, "--list-only", d.destArg())
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	args := strings.Split(strings.TrimSpace(out), "\n")
	if i := slices.Index(args, "-e"); i < 0 || !strings.Contains(args[i+1], "StrictHostKeyChecking=yes") || !strings.Contains(args[i+1], "-p 2222") {
		t.Errorf("no ssh -e with host key checking and the port: %q", args)
	}
	for _, a := range args {
		if strings.HasPrefix(a, "--contimeout") || strings.HasPrefix(a, "--sockopts") || strings.HasPrefix(a, "--password-file") {
			t.Errorf("%s over a remote shell: %q", a, args)
		}
	}
	if args[len(args)-1] != "root@h:/srv/m/" {
		t.Errorf("destination argument %q", args[len(args)-1])
	}
}
