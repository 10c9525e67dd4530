package mirror

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SSH is how rsync reaches the destination through ssh: always for a
// DestShell destination, and for a DestDaemon one when Command is set
// (the daemon then runs as the ssh session's command).
type SSH struct {
	Command    string   // "ssh" or the path of an ssh binary; "" for a daemon: direct TCP
	Key        string   // ssh -i; "" ssh's own identities or the agent (SSH_AUTH_SOCK)
	Port       int      // ssh -p; 0 ssh's default (or the port of an ssh:// destination)
	KnownHosts string   // UserKnownHostsFile; "" ssh's default
	Options    []string // further ssh arguments, one word each
}

// forcedSSH are the options mirrorfs always sets: host keys are checked,
// and ssh never prompts (a prompt would hang a run nobody answers).
var forcedSSH = []string{"BatchMode", "StrictHostKeyChecking"}

// overSSH reports whether rsync runs through ssh for this destination.
func (c *Config) overSSH() bool {
	return c.Dest.Kind == DestShell || c.Dest.Kind == DestDaemon && c.SSH.Command != ""
}

// checkSSH refuses transport settings that have no meaning together.
func (c *Config) checkSSH() error {
	s := c.SSH
	set := s.Command != "" || s.Key != "" || s.Port != 0 || s.KnownHosts != "" || len(s.Options) > 0
	switch {
	case c.Dest.Kind == DestLocal && set:
		return fmt.Errorf("ssh settings (rsh, ssh-key, ssh-port, ssh-known-hosts, ssh-options) need a remote destination, but %s is a local directory: drop them or give host::module or host:/path", c.Dest)
	case c.Dest.Kind == DestDaemon && s.Command == "" && set:
		return fmt.Errorf("ssh settings were given for %s, but rsh is not set: add rsh=ssh to reach the daemon through ssh, or drop them", c.Dest)
	case s.Port < 0 || s.Port > 65535:
		return fmt.Errorf("ssh-port %d: must be a number from 1 to 65535", s.Port)
	case c.Dest.Kind == DestDaemon && s.Command != "" && c.Dest.Port != 0 && c.Dest.Port != DefaultRsyncPort:
		return fmt.Errorf("destination %s names a daemon TCP port, which means nothing over ssh: drop the port and give the ssh port with ssh-port", c.Dest)
	case c.Dest.Kind == DestShell && c.Dest.Port != 0 && s.Port != 0 && c.Dest.Port != s.Port:
		return fmt.Errorf("destination %s names ssh port %d but ssh-port is %d: give the port once", c.Dest, c.Dest.Port, s.Port)
	}
	if s.Command != "" && s.Command != "ssh" && !filepath.IsAbs(s.Command) {
		return fmt.Errorf("rsh %q: give ssh, or the absolute path of an ssh binary", s.Command)
	}
	o := parseSSHOptions(s.Options)
	for _, name := range forcedSSH {
		if _, ok := o.opts[strings.ToLower(name)]; ok {
			return fmt.Errorf("ssh-options sets %s: mirrorfs always runs ssh with BatchMode=yes and StrictHostKeyChecking=yes (host keys are always checked); remove it", name)
		}
	}
	for _, dup := range []struct {
		mine   bool
		theirs bool
		what   string
	}{
		{s.Port != 0 || c.Dest.Port != 0, o.port != "", "the port (ssh-port and -p or -o Port)"},
		{s.Key != "", o.key != "", "the key (ssh-key and -i)"},
		{s.KnownHosts != "", o.knownHosts != "", "the known_hosts file (ssh-known-hosts and -o UserKnownHostsFile)"},
	} {
		if dup.mine && dup.theirs {
			return fmt.Errorf("ssh-options and a dedicated option both set %s: give it once", dup.what)
		}
	}
	return nil
}

// CheckConfig refuses transport settings that have no meaning together,
// as New would (for callers that only probe).
func CheckConfig(c *Config) error { return c.checkSSH() }

// sshOptions is what a list of ssh arguments sets, for messages.
type sshOptions struct {
	port, key, knownHosts, login string
	opts                         map[string]string // -o NAME=VALUE, lower-case names
}

func parseSSHOptions(words []string) sshOptions {
	o := sshOptions{opts: map[string]string{}}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if len(w) < 2 || w[0] != '-' {
			continue
		}
		flag, val := w[:2], w[2:]
		if val == "" && strings.ContainsRune("opil", rune(w[1])) && i+1 < len(words) {
			i++
			val = words[i]
		}
		switch flag {
		case "-o":
			k, v, _ := strings.Cut(val, "=")
			if !strings.Contains(val, "=") {
				k, v, _ = strings.Cut(strings.TrimSpace(val), " ")
			}
			o.opts[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		case "-p":
			o.port = val
		case "-i":
			o.key = val
		case "-l":
			o.login = val
		}
	}
	if v, ok := o.opts["port"]; ok && o.port == "" {
		o.port = v
	}
	if v, ok := o.opts["userknownhostsfile"]; ok {
		o.knownHosts = v
	}
	if v, ok := o.opts["identityfile"]; ok && o.key == "" {
		o.key = v
	}
	if v, ok := o.opts["user"]; ok && o.login == "" {
		o.login = v
	}
	return o
}

// sshPort is the port ssh connects to, as a string; "22" by default.
func (c *Config) sshPort() string {
	switch {
	case c.SSH.Port != 0:
		return strconv.Itoa(c.SSH.Port)
	case c.Dest.Port != 0 && c.Dest.Kind == DestShell:
		return strconv.Itoa(c.Dest.Port)
	}
	if p := parseSSHOptions(c.SSH.Options).port; p != "" {
		return p
	}
	return "22"
}

// KnownHostsFile is the known_hosts file ssh checks the host key against.
func (c *Config) KnownHostsFile() string {
	if c.SSH.KnownHosts != "" {
		return c.SSH.KnownHosts
	}
	if f := parseSSHOptions(c.SSH.Options).knownHosts; f != "" {
		return f
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".ssh", "known_hosts")
	}
	return "~/.ssh/known_hosts"
}

// sshKey is the key file ssh is told to use, "" for its defaults.
func (c *Config) sshKey() string {
	if c.SSH.Key != "" {
		return c.SSH.Key
	}
	return parseSSHOptions(c.SSH.Options).key
}

// sshArgv is the ssh command rsync runs. The forced options come first:
// for -o, ssh keeps the first value it is given.
func sshArgv(c *Config) []string {
	cmd := c.SSH.Command
	if cmd == "" {
		cmd = "ssh"
	}
	a := []string{cmd, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"}
	if c.SSH.KnownHosts != "" {
		a = append(a, "-o", "UserKnownHostsFile="+sshQuote(c.SSH.KnownHosts))
	}
	if c.SSH.Key != "" {
		a = append(a, "-i", c.SSH.Key, "-o", "IdentitiesOnly=yes")
	}
	if c.SSH.Port != 0 {
		a = append(a, "-p", strconv.Itoa(c.SSH.Port))
	} else if c.Dest.Kind == DestShell && c.Dest.Port != 0 {
		a = append(a, "-p", strconv.Itoa(c.Dest.Port))
	}
	// ssh gives up after ServerAliveCountMax (3) unanswered probes: about
	// the rsync timeout.
	alive := max(c.Timeout/3, 1)
	a = append(a, "-o", "ConnectTimeout="+seconds(c.ConTimeout), "-o", "ServerAliveInterval="+seconds(alive))
	return append(a, c.SSH.Options...)
}

// sshQuote quotes a value for ssh's own parsing of -o arguments.
func sshQuote(s string) string {
	if strings.ContainsAny(s, " \t\"") {
		return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
	}
	return s
}

// rshArg joins words for rsync's -e, which splits on spaces and honours
// single and double quotes (a doubled quote inside is a literal one).
func rshArg(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		if w != "" && !strings.ContainsAny(w, " '\"") {
			q[i] = w
			continue
		}
		q[i] = "'" + strings.ReplaceAll(w, "'", "''") + "'"
	}
	return strings.Join(q, " ")
}

// TransportArgs are the rsync options that reach the destination: the
// remote shell, the daemon's connection options and password file. The
// password itself is never among them.
func TransportArgs(c *Config) []string {
	var a []string
	if c.overSSH() {
		a = append(a, "-e", rshArg(sshArgv(c)))
	} else if c.Dest.Kind == DestDaemon {
		// Direct TCP only. TCP_NODELAY removes a ~90 ms Nagle/delayed-ACK
		// floor per session.
		a = append(a, "--contimeout="+seconds(c.ConTimeout), "--sockopts=TCP_NODELAY")
	}
	if c.Dest.Kind == DestDaemon && c.PasswordFile != "" {
		a = append(a, "--password-file="+c.PasswordFile)
	}
	return a
}

// DestArg is the destination directory as rsync is given it.
func DestArg(c *Config) string {
	if c.Dest.Kind == DestDaemon && c.SSH.Command != "" {
		return c.Dest.daemonShellArg(true)
	}
	return c.Dest.RsyncArg()
}

// probeArg addresses the module root or the remote directory itself.
func probeArg(c *Config) string {
	switch {
	case c.Dest.Kind == DestShell:
		return c.Dest.RsyncArg()
	case c.SSH.Command != "":
		return c.Dest.daemonShellArg(false)
	}
	return c.Dest.moduleArg()
}

// TransportStatus is how the destination is reached, for status and for
// `mirrorfs check MOUNTPOINT`: settings and paths, never a secret.
type TransportStatus struct {
	Rsh           string   `json:"rsh,omitempty"`
	SSHKey        string   `json:"ssh_key,omitempty"`
	SSHPort       int      `json:"ssh_port,omitempty"`
	SSHKnownHosts string   `json:"ssh_known_hosts,omitempty"`
	SSHOptions    []string `json:"ssh_options,omitempty"`
	BwLimit       string   `json:"bwlimit,omitempty"`
}

func (c *Config) transportStatus() *TransportStatus {
	if !c.overSSH() && c.BwLimit == "" {
		return nil
	}
	t := &TransportStatus{BwLimit: c.BwLimit}
	if c.overSSH() {
		t.Rsh = c.SSH.Command
		if t.Rsh == "" {
			t.Rsh = "ssh"
		}
		t.SSHKey, t.SSHPort, t.SSHKnownHosts, t.SSHOptions = c.SSH.Key, c.SSH.Port, c.SSH.KnownHosts, c.SSH.Options
	}
	return t
}

// SSHFromStatus is the ssh transport a status reported.
func SSHFromStatus(t *TransportStatus) SSH {
	if t == nil {
		return SSH{}
	}
	return SSH{Command: t.Rsh, Key: t.SSHKey, Port: t.SSHPort, KnownHosts: t.SSHKnownHosts, Options: t.SSHOptions}
}

// sshHint is the ssh command a person would type to reach the host.
func sshHint(c *Config) string {
	h := "ssh "
	if p := c.sshPort(); p != "22" {
		h += "-p " + p + " "
	}
	return h + c.Dest.userAt() + c.Dest.Host
}
