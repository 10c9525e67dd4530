package tests

import (
	"fmt"
	"os"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// sshDaemonDest is the article's rsync daemon reached through ssh: the
// user key's authorized_keys line forces `rsync --server --daemon` with
// the daemon's configuration; the module's auth user and password stay.
func sshDaemonDest(t *testing.T, opts testkit.DaemonOptions) mountOptions {
	d := testkit.StartDaemon(t, opts)
	s := testkit.StartSSHD(t, testkit.SSHDOptions{ForcedCommand: d.SSHCommand()})
	return mountOptions{Daemon: d, Dest: d.SSHDest(), Args: append([]string{"--rsh", "ssh"}, s.Args("root")...)}
}

// sshShellDest is a remote shell destination: rsync runs through ssh into
// a directory (the daemon's module directory, never reached by the daemon).
func sshShellDest(t *testing.T, opts testkit.DaemonOptions) mountOptions {
	d := testkit.StartDaemon(t, opts)
	s := testkit.StartSSHD(t, testkit.SSHDOptions{})
	return mountOptions{Daemon: d, Dest: "root@127.0.0.1:" + d.Dir, Args: s.Args("")}
}

var sshTransports = []struct {
	name  string
	setup destSetup
}{
	{"daemon over ssh", sshDaemonDest},
	{"remote shell", sshShellDest},
}

func TestOperationsOverSSH(t *testing.T) {
	for _, tr := range sshTransports {
		t.Run(tr.name, func(t *testing.T) { runOperations(t, tr.setup) })
	}
}

func TestOddNamesOverSSH(t *testing.T) {
	for _, tr := range sshTransports {
		t.Run(tr.name, func(t *testing.T) { runOddNames(t, tr.setup) })
	}
}

// TestSSHDestinationForms: the URL forms reach the same places as the
// short ones: rsync:// with rsh=ssh, and ssh:// carrying the port.
func TestSSHDestinationForms(t *testing.T) {
	tests := []struct {
		name  string
		setup destSetup
	}{
		{"rsync URL with rsh=ssh", func(t *testing.T, opts testkit.DaemonOptions) mountOptions {
			o := sshDaemonDest(t, opts)
			o.Dest = "rsync://" + o.Daemon.User + "@127.0.0.1/" + o.Daemon.Module
			return o
		}},
		{"ssh URL with port", func(t *testing.T, opts testkit.DaemonOptions) mountOptions {
			d := testkit.StartDaemon(t, opts)
			s := testkit.StartSSHD(t, testkit.SSHDOptions{})
			return mountOptions{Daemon: d, Dest: fmt.Sprintf("ssh://root@127.0.0.1:%d%s", s.Port, d.Dir),
				Args: []string{"--ssh-key", s.UserKey, "--ssh-known-hosts", s.KnownHosts}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mountMirror(t, tt.setup(t, testkit.DaemonOptions{}))
			must(t, os.MkdirAll(m.Mnt+"/a/b", 0o755))
			write(t, m.Mnt+"/a/b/f", "through a URL form")
			m.assertMirrored(t, testkit.CompareOptions{})
		})
	}
}
