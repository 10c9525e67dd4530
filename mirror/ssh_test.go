package mirror

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// rsyncSplit splits an -e value the way rsync 3.x does (main.c do_cmd):
// words end at spaces outside quotes; a quote opens, the same quote
// closes, and a doubled quote inside is a literal one.
func rsyncSplit(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		if s[i] == ' ' {
			i++
			continue
		}
		var w []byte
		var q byte
		for ; i < len(s) && (s[i] != ' ' || q != 0); i++ {
			c := s[i]
			if c == '\'' || c == '"' {
				if q == 0 {
					q = c
					continue
				}
				if c == q {
					if i+1 < len(s) && s[i+1] == q {
						i++
						w = append(w, c)
						continue
					}
					q = 0
					continue
				}
			}
			w = append(w, c)
		}
		out = append(out, string(w))
	}
	return out
}

func TestRshArgRoundTrip(t *testing.T) {
	for _, words := range [][]string{
		{"ssh", "-o", "BatchMode=yes"},
		{"/opt/my ssh/ssh", "-i", "/keys/it's mine", "-o", `UserKnownHostsFile="/a b"`},
		{"ssh", "", "-o", "ProxyCommand=nc -X 5 %h %p"},
	} {
		if got := rsyncSplit(rshArg(words)); !slices.Equal(got, words) {
			t.Errorf("rshArg(%q) = %q, rsync splits it into %q", words, rshArg(words), got)
		}
	}
}

func TestTransportArgs(t *testing.T) {
	daemon := Destination{Kind: DestDaemon, User: "rsyncuser", Host: "127.0.0.1", Module: "backup", Path: "sub"}
	shell := Destination{Kind: DestShell, User: "root", Host: "127.0.0.1", Port: 2200, Path: "/srv/m"}
	base := Config{Timeout: 30 * time.Second, ConTimeout: 10 * time.Second, PasswordFile: "/etc/pw"}
	forced := "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes"
	alive := "-o ConnectTimeout=10 -o ServerAliveInterval=10"
	tests := []struct {
		name string
		dest Destination
		ssh  SSH
		want []string
		arg  string
	}{
		{"daemon over tcp", daemon, SSH{}, []string{"--contimeout=10", "--sockopts=TCP_NODELAY", "--password-file=/etc/pw"}, "rsync://rsyncuser@127.0.0.1/backup/sub/"},
		{"daemon over ssh", daemon, SSH{Command: "ssh", Key: "/k/id", Port: 2222, KnownHosts: "/k/known hosts", Options: []string{"-l", "root"}},
			[]string{"-e", forced + " -o 'UserKnownHostsFile=\"/k/known hosts\"' -i /k/id -o IdentitiesOnly=yes -p 2222 " + alive + " -l root", "--password-file=/etc/pw"},
			"rsyncuser@127.0.0.1::backup/sub/"},
		{"remote shell, port from ssh://", shell, SSH{},
			[]string{"-e", forced + " -p 2200 " + alive}, "root@127.0.0.1:/srv/m/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			c.Dest, c.SSH = tt.dest, tt.ssh
			if err := c.checkSSH(); err != nil {
				t.Fatal(err)
			}
			if got := TransportArgs(&c); !slices.Equal(got, tt.want) {
				t.Errorf("TransportArgs:\n got %q\nwant %q", got, tt.want)
			}
			if got := DestArg(&c); got != tt.arg {
				t.Errorf("DestArg = %q, want %q", got, tt.arg)
			}
			for _, a := range rsyncArgs(&c, modeList) {
				if strings.Contains(a, "contimeout") && c.overSSH() || strings.Contains(a, "sockopts") && c.overSSH() {
					t.Errorf("direct-TCP option %q over ssh", a)
				}
			}
		})
	}
}

func TestBwLimitArg(t *testing.T) {
	c := Config{Dest: Destination{Kind: DestLocal, LocalDir: "/m"}, Timeout: time.Second, BwLimit: "10M"}
	if a := rsyncArgs(&c, modeList); !slices.Contains(a, "--bwlimit=10M") {
		t.Errorf("transfer run lacks --bwlimit: %q", a)
	}
	if a := rsyncArgs(&c, modeProbe); slices.ContainsFunc(a, func(s string) bool { return strings.HasPrefix(s, "--bwlimit") }) {
		t.Errorf("probe carries --bwlimit: %q", a)
	}
}

func TestCheckSSH(t *testing.T) {
	daemon := Destination{Kind: DestDaemon, Host: "h", Module: "m"}
	tests := []struct {
		name    string
		dest    Destination
		ssh     SSH
		wantErr string
	}{
		{"local with ssh", Destination{Kind: DestLocal, LocalDir: "/x"}, SSH{Command: "ssh"}, "need a remote destination"},
		{"daemon key without rsh", daemon, SSH{Key: "/k"}, "add rsh=ssh"},
		{"daemon port over ssh", Destination{Kind: DestDaemon, Host: "h", Port: 8730, Module: "m"}, SSH{Command: "ssh"}, "drop the port"},
		{"relative rsh", daemon, SSH{Command: "bin/ssh"}, "absolute path"},
		{"no host key check", daemon, SSH{Command: "ssh", Options: []string{"-o", "StrictHostKeyChecking=no"}}, "host keys are always checked"},
		{"accept-new", daemon, SSH{Command: "ssh", Options: []string{"-oStrictHostKeyChecking=accept-new"}}, "host keys are always checked"},
		{"port twice", daemon, SSH{Command: "ssh", Port: 22, Options: []string{"-p", "2222"}}, "give it once"},
		{"known hosts twice", daemon, SSH{Command: "ssh", KnownHosts: "/a", Options: []string{"-o", "UserKnownHostsFile=/b"}}, "give it once"},
		{"shell port twice", Destination{Kind: DestShell, Host: "h", Port: 2200, Path: "/x"}, SSH{Port: 2222}, "give the port once"},
		{"shell plain", Destination{Kind: DestShell, Host: "h", Path: "/x"}, SSH{Options: []string{"-p", "2222", "-i", "/k"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Dest: tt.dest, SSH: tt.ssh}
			err := c.checkSSH()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseBwLimit(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		{"0", 0, ""}, {"10", 10240, ""}, {"10M", 10 << 20, ""}, {"10m", 10 << 20, ""}, {"10MB", 10e6, ""},
		{"10MiB", 10 << 20, ""}, {"1.5k", 1536, ""}, {"1G", 1 << 30, ""}, {"512b", 512, ""},
		{"fast", 0, "not a number"}, {"10X", 0, "unknown unit"}, {"10Mbit", 0, "unknown unit"}, {"-1", 0, "not a number"},
		{"100b", 0, "minimum of 512"}, {"1.2.3", 0, "not a number"}, {"", 0, "not a number"},
	}
	for _, tt := range tests {
		got, err := ParseBwLimit(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseBwLimit(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseBwLimit(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

// Lines below were printed by OpenSSH 9.2 (through rsync 3.5.0).
func TestClassifySSH(t *testing.T) {
	cfg := &Config{Dest: Destination{Kind: DestDaemon, User: "rsyncuser", Host: "127.0.0.1", Module: "backup"},
		SSH: SSH{Command: "ssh", Port: 2222, KnownHosts: "/k/known_hosts", Options: []string{"-l", "root"}}}
	tail := "rsync: connection unexpectedly closed (0 bytes received so far) [sender]\nrsync error: unexplained error (code 255) at io.c(232) [sender=3.5.0]\n"
	tests := []struct {
		name, stderr string
		class        Class
		msg          string
	}{
		{"unknown key", "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\n", ClassHostKey,
			"host key of 127.0.0.1:2222 is not in /k/known_hosts: check its fingerprint and add it with `ssh-keyscan -p 2222 127.0.0.1 >> /k/known_hosts`"},
		{"changed key", "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\nHost key for [127.0.0.1]:2222 has changed and you have requested strict checking.\r\nHost key verification failed.\r\n", ClassHostKey,
			"host key of 127.0.0.1:2222 does not match the one in /k/known_hosts"},
		{"wrong user key", "root@127.0.0.1: Permission denied (publickey).\r\n", ClassSSHAuth, "ssh login as root to 127.0.0.1:2222 was refused (publickey)"},
		{"refused", "ssh: connect to host 127.0.0.1 port 2222: Connection refused\r\n", ClassConnect, "cannot reach sshd at 127.0.0.1:2222 (Connection refused)"},
		{"no such host", "ssh: Could not resolve hostname nohost.invalid: Name or service not known\r\n", ClassConnect, "cannot resolve the ssh host"},
		{"timed out", "ssh: connect to host 10.255.255.1 port 22: Connection timed out\r\n", ClassTimeout, "timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := classify(255, []byte(tt.stderr+tail), cfg.Dest, cfg)
			if e == nil || e.Class != tt.class || !strings.Contains(e.Msg, tt.msg) {
				t.Fatalf("classify = %+v, want class %v with %q", e, tt.class, tt.msg)
			}
			if strings.Contains(e.Msg, "\n") {
				t.Errorf("message has more than one line: %q", e.Msg)
			}
		})
	}
	// A daemon refusal through ssh stays the daemon's.
	e := classify(5, []byte("@ERROR: auth failed on module backup\n"), cfg.Dest, cfg)
	if e.Class != ClassAuth || !strings.Contains(e.Msg, "refused the password for user rsyncuser") {
		t.Errorf("daemon auth over ssh: %+v", e)
	}
}
