package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// TestSSHBadInput: each bad transport option gives one line naming it and
// the documented exit code, and mounts nothing.
func TestSSHBadInput(t *testing.T) {
	requireE2E(t)
	d := testkit.StartDaemon(t, testkit.DaemonOptions{})
	key := testkit.GenerateKey(t, t.TempDir(), "open")
	must(t, os.Chmod(key, 0o644))
	shell := "root@127.0.0.1:" + d.Dir
	locked := filepath.Join(t.TempDir(), "locked")
	if out, err := exec.Command(testkit.RequireTool(t, "ssh-keygen"), "-q", "-t", "ed25519", "-N", "a passphrase", "-f", locked).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ssh-port 0", []string{"--dest", shell, "--ssh-port", "0"}, exitcode.Usage, "ssh-port"},
		{"ssh-port too large", []string{"--dest", shell, "--ssh-port", "70000"}, exitcode.Usage, "1 to 65535"},
		{"ssh-port twice", []string{"--dest", shell, "--ssh-port", "2222", "--ssh-port", "2223"}, exitcode.Usage, "ssh-port"},
		{"bwlimit nonsense", []string{"--dest", d.URL(), "--bwlimit", "fast"}, exitcode.Usage, "bwlimit"},
		{"bwlimit in bits", []string{"--dest", d.URL(), "-o", "bwlimit=10Mbit"}, exitcode.Usage, "unknown unit"},
		{"rsh not ssh", []string{"--dest", d.SSHDest(), "--rsh", "telnet"}, exitcode.Usage, "rsh"},
		{"ssh-options unclosed quote", []string{"--dest", shell, "--ssh-options", "-o 'Ciphers=x"}, exitcode.Usage, "ssh-options"},
		{"host key checking off", []string{"--dest", d.SSHDest(), "--rsh", "ssh", "--ssh-options", "-o StrictHostKeyChecking=no"}, exitcode.Usage, "host keys are always checked"},
		{"rsh with a local directory", []string{"--dest", t.TempDir(), "--rsh", "ssh"}, exitcode.Usage, "local directory"},
		{"ssh settings without rsh", []string{"--dest", d.URL(), "--ssh-port", "2222"}, exitcode.Usage, "rsh=ssh"},
		{"key with a passphrase, no agent", []string{"--dest", shell, "--ssh-key", locked}, exitcode.Dest, "ssh-agent"},
		{"key readable by others", []string{"--dest", shell, "--ssh-key", key}, exitcode.Dest, "chmod 600 " + key},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mnt := filepath.Join(t.TempDir(), "data")
			must(t, os.Mkdir(mnt, 0o755))
			env := append(withoutAgent(os.Environ()), "MIRRORFS_RUN_DIR="+t.TempDir())
			stderr, code := runMountExpectingFailure(t, env, mnt, append(append([]string{"mount"}, tc.args...), mnt)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			checkOneLineError(t, stderr)
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not mention %q: %s", tc.want, stderr)
			}
			if fstype, _ := mountType(mnt); fstype != "" {
				t.Errorf("%s is mounted (%s) after a failed start", mnt, fstype)
			}
		})
	}
}

func withoutAgent(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "SSH_AUTH_SOCK=") {
			out = append(out, e)
		}
	}
	return out
}
