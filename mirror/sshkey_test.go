package mirror

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

func TestCheckSSHKey(t *testing.T) {
	keygen := testkit.RequireTool(t, "ssh-keygen")
	dir := t.TempDir()
	gen := func(name, pass string) string {
		p := filepath.Join(dir, name)
		if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", pass, "-f", p).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
		return p
	}
	plain, locked := gen("plain", ""), gen("locked", "a passphrase")
	open := gen("open", "")
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	tests := []struct {
		name, path, wantErr string
	}{
		{"no passphrase", plain, ""},
		{"passphrase, no agent", locked, "has a passphrase, which mirrorfs cannot type"},
		{"readable by others", open, "chmod 600"},
		{"missing", filepath.Join(dir, "nope"), "does not exist"},
		{"directory", dir, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSSHKey(tt.path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckSSHKey = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "a passphrase\n") || strings.Contains(err.Error(), "\n") {
				t.Errorf("more than one line: %q", err)
			}
		})
	}
	t.Setenv("SSH_AUTH_SOCK", "/run/agent.sock")
	if err := CheckSSHKey(locked); err != nil {
		t.Errorf("with an agent, a key with a passphrase is for the agent to unlock: %v", err)
	}
}
