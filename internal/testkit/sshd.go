package testkit

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SSHDOptions configures StartSSHD.
type SSHDOptions struct {
	// ForcedCommand, when set, is forced on the user key's login
	// (authorized_keys command="..."), e.g. Daemon.SSHCommand() for an rsync
	// daemon reached through ssh.
	ForcedCommand string
}

// SSHD is a running OpenSSH server on 127.0.0.1 with its own host key,
// one authorized user key and a known_hosts file for the client.
type SSHD struct {
	Host       string // "127.0.0.1"
	Port       int
	UserKey    string // the client's private key (mode 0600), authorized for any login
	KnownHosts string // the client's known_hosts, holding this server's host key
	HostKey    string // the server's private host key
	Dir        string

	t      testing.TB
	conf   string
	stderr string
	server
}

// StartSSHD runs `sshd -D -e -f CONFIG` on a free 127.0.0.1 port and
// waits until it accepts connections. t.Cleanup stops it and every
// session process it started.
func StartSSHD(t testing.TB, opts SSHDOptions) *SSHD {
	t.Helper()
	Require(t, "root", "sshd", "ssh", "ssh-keygen")
	s := &SSHD{Host: "127.0.0.1", Dir: t.TempDir(), t: t}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("creating /run/sshd for sshd: %v", err)
	}
	s.HostKey = GenerateKey(t, s.Dir, "host_ed25519")
	s.UserKey = GenerateKey(t, s.Dir, "user_ed25519")
	pub, err := os.ReadFile(s.UserKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(pub))
	if opts.ForcedCommand != "" {
		line = fmt.Sprintf("command=%q,no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding %s", opts.ForcedCommand, line)
	}
	mustWrite(t, filepath.Join(s.Dir, "authorized_keys"), line+"\n", 0o600)
	s.conf = filepath.Join(s.Dir, "sshd_config")
	s.stderr = filepath.Join(s.Dir, "sshd.log")
	t.Cleanup(s.Stop)
	for range 5 { // another process may grab the port between probe and bind
		if s.Port, err = freePort(); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, s.conf, s.config(), 0o600)
		if err = s.start(); err == nil {
			s.KnownHosts = s.knownHostsFor(t, "known_hosts", s.HostKey)
			return s
		}
	}
	t.Fatalf("sshd did not start: %v\n%s", err, s.Log())
	return nil
}

// GenerateKey makes an ed25519 key pair without a passphrase in dir and
// returns the private key's path (the public one has ".pub" added).
func GenerateKey(t testing.TB, dir, name string) string {
	t.Helper()
	Require(t, "ssh-keygen")
	p := filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	return p
}

func (s *SSHD) config() string {
	// StrictModes no: t.TempDir lies under the world-writable /tmp.
	return fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
AuthorizedKeysFile %s
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PrintMotd no
LogLevel VERBOSE
`, s.Port, s.HostKey, filepath.Join(s.Dir, "sshd.pid"), filepath.Join(s.Dir, "authorized_keys"))
}

func (s *SSHD) start() error {
	errf, err := os.OpenFile(s.stderr, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer errf.Close()
	// sshd insists on being started by its absolute path.
	bin, err := exec.LookPath("sshd")
	if err != nil {
		return err
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	cmd := exec.Command(bin, "-D", "-e", "-f", s.conf)
	cmd.Stdout, cmd.Stderr = errf, errf
	return s.launch("sshd", cmd, net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), s.Stop)
}

// knownHostsFor writes a known_hosts file in the test's directory that
// names key's public half for this server.
func (s *SSHD) knownHostsFor(t testing.TB, name, key string) string {
	t.Helper()
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(s.Dir, name)
	mustWrite(t, f, fmt.Sprintf("[%s]:%d %s\n", s.Host, s.Port, strings.TrimSpace(string(pub))), 0o644)
	return f
}

// WrongKnownHosts returns a known_hosts file that names another host key
// for this server, as after a reinstall or with someone in between.
func (s *SSHD) WrongKnownHosts(t testing.TB) string {
	t.Helper()
	return s.knownHostsFor(t, "known_hosts.wrong", GenerateKey(t, t.TempDir(), "other_host"))
}

// EmptyKnownHosts returns a known_hosts file that does not know this server.
func (s *SSHD) EmptyKnownHosts(t testing.TB) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "known_hosts.empty")
	mustWrite(t, f, "", 0o644)
	return f
}

// WrongUserKey returns a private key the server does not accept.
func (s *SSHD) WrongUserKey(t testing.TB) string {
	t.Helper()
	return GenerateKey(t, t.TempDir(), "stranger")
}

// Args are the mirrorfs options that reach this server as login (the ssh
// user; "" leaves it to the destination).
func (s *SSHD) Args(login string) []string {
	a := []string{"--ssh-port", strconv.Itoa(s.Port), "--ssh-key", s.UserKey, "--ssh-known-hosts", s.KnownHosts}
	if login != "" {
		a = append(a, "--ssh-options", "-l "+login)
	}
	return a
}

// Running reports whether sshd is up.
func (s *SSHD) Running() bool { return s.running() }

// Start restarts a stopped sshd on the same port and keys (for outage
// tests).
func (s *SSHD) Start() {
	s.t.Helper()
	if s.Running() {
		return
	}
	if err := restart(s.start); err != nil {
		s.t.Fatalf("restarting sshd on port %d: %v\n%s", s.Port, err, s.Log())
	}
}

// Stop ends sshd and every process below it, session children included:
// those call setsid and leave sshd's process group, so they are found by
// parentage, stopped (no more forks) and then killed.
func (s *SSHD) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
	default:
		killTree(s.cmd.Process.Pid)
		<-s.exited
	}
	s.cmd = nil
}

// killTree stops root and its descendants until no new one appears, then
// kills them all and waits until they are gone.
func killTree(root int) {
	stopped := map[int]bool{}
	for range 20 {
		grew := false
		for _, p := range descendants(root) {
			if !stopped[p] {
				syscall.Kill(p, syscall.SIGSTOP)
				stopped[p], grew = true, true
			}
		}
		if !grew {
			break
		}
	}
	for p := range stopped {
		syscall.Kill(p, syscall.SIGKILL)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		alive := 0
		for p := range stopped {
			if processAlive(p) {
				alive++
			}
		}
		if alive == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// descendants returns root and every process below it, from /proc.
func descendants(root int) []int {
	ents, _ := os.ReadDir("/proc")
	kids := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp := parentPID(pid); pp > 0 {
			kids[pp] = append(kids[pp], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, kids[out[i]]...)
	}
	return out
}

// statFields returns the fields of /proc/PID/stat after the command name.
func statFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

func parentPID(pid int) int {
	f := statFields(pid)
	if len(f) < 2 {
		return 0
	}
	pp, _ := strconv.Atoi(f[1])
	return pp
}

func processAlive(pid int) bool {
	f := statFields(pid)
	return len(f) > 0 && f[0] != "Z"
}

// Descendants lists pid and the processes below it (for tests that look
// at the argv of rsync's children).
func Descendants(pid int) []int { return descendants(pid) }

// Log returns sshd's log, for failure messages.
func (s *SSHD) Log() string {
	b, _ := os.ReadFile(s.stderr)
	return string(b)
}
