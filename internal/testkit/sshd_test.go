package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSSHD(t *testing.T) {
	Require(t, "root", "rsync", "sshd", "ssh")
	src := t.TempDir()
	mustWrite(t, filepath.Join(src, "f"), "over ssh\n", 0o644)
	d := StartDaemon(t, DaemonOptions{})
	tests := []struct {
		name   string
		forced bool
		dest   func(s *SSHD) string
		dir    string
	}{
		{"daemon over ssh", true, func(*SSHD) string { return d.SSHDest() + "/" }, d.Dir},
		{"remote shell", false, func(*SSHD) string { return "127.0.0.1:" + d.Dir + "/shell/" }, filepath.Join(d.Dir, "shell")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o SSHDOptions
			if tt.forced {
				o.ForcedCommand = d.SSHCommand()
			}
			s := StartSSHD(t, o)
			rsh := fmt.Sprintf("ssh -l root -p %d -i %s -o IdentitiesOnly=yes -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o BatchMode=yes", s.Port, s.UserKey, s.KnownHosts)
			args := []string{"-a", "-e", rsh, src + "/", tt.dest(s)}
			if tt.forced {
				args = append([]string{"--password-file=" + d.PasswordFile}, args...)
			}
			cmd := exec.Command("rsync", args...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("rsync through sshd: %v\n%s\nsshd log:\n%s", err, out, s.Log())
			}
			if b, err := os.ReadFile(filepath.Join(tt.dir, "f")); err != nil || string(b) != "over ssh\n" {
				t.Fatalf("file did not arrive: %q %v", b, err)
			}
			bad := strings.Replace(rsh, s.KnownHosts, s.WrongKnownHosts(t), 1)
			out, err := exec.Command("rsync", "-a", "-e", bad, src+"/", tt.dest(s)).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "HOST IDENTIFICATION HAS CHANGED") {
				t.Fatalf("wrong host key accepted: %v\n%s", err, out)
			}
			pid := s.cmd.Process.Pid
			s.Stop()
			if left := descendants(pid); len(left) > 1 || processAlive(pid) {
				t.Fatalf("processes left after Stop: %v", left)
			}
		})
	}
}
