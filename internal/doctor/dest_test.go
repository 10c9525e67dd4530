package doctor

import (
	"context"
	"os"
	"path/filepath"
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
