package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestTransportKeys(t *testing.T) {
	tests := []struct {
		key, value string
		wantErr    string
	}{
		{"rsh", "ssh", ""},
		{"rsh", "/usr/bin/ssh", ""},
		{"rsh", "rsh", "the remote shell is ssh"},
		{"rsh", "ssh -p 22", "the remote shell is ssh"},
		{"ssh-port", "2222", ""},
		{"ssh-port", "0", "1 to 65535"},
		{"ssh-port", "65536", "1 to 65535"},
		{"ssh-port", "ssh", "1 to 65535"},
		{"ssh-options", `-l root -o "ProxyCommand=nc %h %p"`, ""},
		{"ssh-options", `-o 'Ciphers=aes128-ctr`, "single quote is not closed"},
		{"bwlimit", "10M", ""},
		{"bwlimit", "1.5m", ""},
		{"bwlimit", "0", ""},
		{"bwlimit", "fast", "not a number rsync accepts"},
		{"bwlimit", "10Mbit", "unknown unit"},
		{"bwlimit", "100b", "minimum of 512"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			var c Config
			err := c.Set(tt.key, tt.value)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), tt.key+" ") {
				t.Fatalf("Set(%q, %q) = %v, want an error naming the key with %q", tt.key, tt.value, err, tt.wantErr)
			}
		})
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  -l root  ", []string{"-l", "root"}},
		{`-o "Ciphers=a b" -o 'X=it''s'`, []string{"-o", "Ciphers=a b", "-o", "X=its"}},
		{`-o X=\"q\" "a\"b\\c" a\ b`, []string{"-o", `X="q"`, `a"b\c`, "a b"}},
		{`''`, []string{""}},
	}
	for _, tt := range tests {
		got, err := splitWords(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`"open`, `'open`, `trailing\`} {
		if _, err := splitWords(bad); err == nil {
			t.Errorf("splitWords(%q) accepted", bad)
		}
	}
}

func TestEngineTransport(t *testing.T) {
	c := Defaults()
	c.Dest = "rsyncuser@127.0.0.1::backup"
	for k, v := range map[string]string{"rsh": "ssh", "ssh-key": "/k/id", "ssh-port": "2222", "ssh-known-hosts": "/k/kh", "ssh-options": "-l root", "bwlimit": "10M"} {
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	m, err := c.Engine()
	if err != nil {
		t.Fatal(err)
	}
	s := m.SSH
	if s.Command != "ssh" || s.Key != "/k/id" || s.Port != 2222 || s.KnownHosts != "/k/kh" || !slices.Equal(s.Options, []string{"-l", "root"}) || m.BwLimit != "10M" {
		t.Errorf("engine transport %+v, bwlimit %q", s, m.BwLimit)
	}
	c.BwLimit = "0"
	if m, _ := c.Engine(); m.BwLimit != "" {
		t.Errorf("bwlimit=0 reached the engine as %q, want no limit", m.BwLimit)
	}
}

func TestTransportFromFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "mirrorfs.conf")
	text := "dest = root@backup.example:/srv/mirror\nssh-port = 2222\nssh-options = -l root -o \"ProxyJump=jump host\"\nbwlimit = 1.5m\n"
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := ParseFile(f)
	if err != nil {
		t.Fatal(err)
	}
	c := Defaults()
	if err := c.Apply(opts); err != nil {
		t.Fatal(err)
	}
	m, err := c.Engine()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"-l", "root", "-o", "ProxyJump=jump host"}; !slices.Equal(m.SSH.Options, want) || m.SSH.Port != 2222 || m.BwLimit != "1.5m" {
		t.Errorf("from the file: ssh %+v bwlimit %q; want options %q, port 2222, bwlimit 1.5m", m.SSH, m.BwLimit, want)
	}
}
