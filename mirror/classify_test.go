package mirror

import (
	"slices"
	"strings"
	"testing"
)

// Lines below were produced by rsync 3.5.0 against a local daemon and a
// local directory.
func TestClassify(t *testing.T) {
	d := Destination{Kind: DestDaemon, User: "rsyncuser", Host: "127.0.0.1", Port: 18731, Module: "mod"}
	cfg := &Config{PasswordFile: "/etc/mirror.pw"}
	tests := []struct {
		name   string
		code   int
		stderr string
		class  Class
		msg    string
	}{
		{"ok", 0, "", ClassOK, ""},
		{"auth", 5, "@ERROR: auth failed on module mod\nrsync error: error starting client-server protocol (code 5) at main.c(1954) [sender=3.5.0]\n", ClassAuth,
			"the rsync daemon at 127.0.0.1:18731 refused the password for user rsyncuser on module mod: check the password file (or RSYNC_PASSWORD)"},
		{"unknown module", 5, "@ERROR: Unknown module 'nomod'\nrsync error: error starting client-server protocol (code 5) at main.c(1954) [sender=3.5.0]\n", ClassUnknownModule,
			`has no module "mod": check the destination and the daemon's rsyncd.conf`},
		{"refused", 10, "rsync: [sender] failed to connect to 127.0.0.1 (127.0.0.1): Connection refused (111)\nrsync error: error in socket IO (code 10) at clientserver.c(165) [sender=3.5.0]\n", ClassConnect,
			"cannot connect to the rsync daemon at 127.0.0.1:18731 (127.0.0.1 (127.0.0.1): Connection refused (111)): is the daemon running"},
		{"password file mode", 1, "ERROR: password file must not be other-accessible\nrsync error: syntax or usage error (code 1) at authenticate.c(261) [sender=3.5.0]\n", ClassPasswordFile,
			"rsync refused the password file /etc/mirror.pw (password file must not be other-accessible): it must be a regular file owned by you with mode 600, run chmod 600 /etc/mirror.pw"},
		{"contimeout", 35, "rsync error: timeout waiting for daemon connection (code 35) at socket.c(278) [sender=3.5.0]\n", ClassTimeout, "did not answer in time (exit 35"},
		{"io timeout", 30, "[sender] io timeout after 30 seconds -- exiting\nrsync error: timeout in data send/receive (code 30) at io.c(197) [sender=3.5.0]\n", ClassTimeout, "did not answer in time"},
		{"stream", 12, "rsync: connection unexpectedly closed (0 bytes received so far) [sender]\nrsync error: error in rsync protocol data stream (code 12) at io.c(232) [sender=3.5.0]\n", ClassStream, "the connection to rsync://rsyncuser@127.0.0.1:18731/mod broke (exit 12"},
		{"disk full", 11, "rsync: [receiver] write failed on \"big\" (in mod): No space left on device (28)\nrsync error: error in file IO (code 11) at receiver.c(381) [receiver=3.5.0]\n", ClassDestIO, "cannot store the files (write failed on \"big\" (in mod): No space left on device (28)): free space"},
		{"partial", 23, "rsync: [receiver] mkstemp \"locked/.f.GV6UBe\" (in mod) failed: Operation not permitted (1)\n", ClassPartial, "could not transfer some paths"},
		{"killed", -1, "", ClassCancelled, "stopped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := classify(tt.code, []byte(tt.stderr), d, cfg)
			if tt.class == ClassOK {
				if e != nil {
					t.Fatalf("got %v", e)
				}
				return
			}
			if e == nil || e.Class != tt.class || e.Code != tt.code {
				t.Fatalf("got %+v, want class %v", e, tt.class)
			}
			if !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("message %q\nwant it to contain %q", e.Msg, tt.msg)
			}
		})
	}
}

func TestPathProblems(t *testing.T) {
	daemon := Destination{Kind: DestDaemon, Host: "h", Module: "mod"}
	sub := Destination{Kind: DestDaemon, Host: "h", Module: "mod", Path: "sub"}
	local := Destination{Kind: DestLocal, LocalDir: "/tmp/x/dst3"}
	tests := []struct {
		name     string
		dest     Destination
		stderr   string
		first    []string // first candidate of each problem
		vanished []bool
		other    int
	}{
		{"sender with escapes", daemon, "rsync: [sender] link_stat \"/proc/self/fd/3/noperm/f\" failed: Permission denied (13)\n" +
			"rsync: [sender] send_files failed to open \"/proc/self/fd/3/q\\#012x\": Permission denied (13)\n" +
			"rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]\n",
			[]string{"noperm/f", "q\nx"}, []bool{false, false}, 0},
		{"daemon receiver", daemon, "rsync: [receiver] mkstemp \"locked/.f.GV6UBe\" (in mod) failed: Operation not permitted (1)\n" +
			"rsync: [generator] failed to set times on \"locked\" (in mod): Operation not permitted (1)\n",
			[]string{"locked/.f.GV6UBe", "locked"}, []bool{false, false}, 0},
		{"daemon receiver in a sub path", sub, "rsync: [receiver] mkstemp \"/sub/locked/.f.mVAigx\" (in mod) failed: Operation not permitted (1)\n",
			[]string{"locked/.f.mVAigx"}, []bool{false}, 0},
		{"local receiver", local, "rsync: [receiver] mkstemp \"/tmp/x/dst3/locked/.g.cA3MeE\" failed: Operation not permitted (1)\n",
			[]string{"locked/.g.cA3MeE"}, []bool{false}, 0},
		{"vanished", daemon, "file has vanished: \"/proc/self/fd/3/gone\"\nWARNING: parent dir is absent in the file list: gone/x\nrsync warning: some files vanished before they could be transferred (code 24) at main.c(1394) [sender=3.5.0]\n",
			[]string{"gone"}, []bool{true}, 0},
		{"quote inside a name", daemon, "rsync: [sender] link_stat \"/proc/self/fd/3/say \"hi\"\" failed: Permission denied (13)\n",
			[]string{"say \"hi\""}, []bool{false}, 0},
		{"overflow", daemon, "filename overflows max-path len by 125: dd/ee/f\nIO error encountered -- skipping file deletion\nrsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]\n",
			[]string{"dd/ee/f"}, []bool{false}, 0},
		{"no path", daemon, "rsync: connection unexpectedly closed (0 bytes received so far) [sender]\n", nil, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probs, other := pathProblems([]byte(tt.stderr), sourceArg, tt.dest)
			var first []string
			var van []bool
			for _, p := range probs {
				first = append(first, p.candidates[0])
				van = append(van, p.vanished)
			}
			if !slices.Equal(first, tt.first) || !slices.Equal(van, tt.vanished) || len(other) != tt.other {
				t.Errorf("got %q %v other %q; want %q %v %d", first, van, other, tt.first, tt.vanished, tt.other)
			}
		})
	}
}

func TestAttribute(t *testing.T) {
	r := &run{entries: []*entry{
		{path: "a"}, {path: "locked/f"}, {path: "locked/g"}, {path: "tree", recursive: true}, {path: "q\nx"},
	}}
	tests := []struct {
		problem string
		want    []string
	}{
		{"a", []string{"a"}},
		{"locked/.f.GV6UBe", []string{"locked/f"}},
		{"locked", []string{"locked/f", "locked/g"}},
		{"tree/deep/file", []string{"tree"}},
		{"q\nx", []string{"q\nx"}},
		{"other", nil},
		{".a.XXXXXX", []string{"a"}},
		{"locked/.h.XXXXXX", nil},
	}
	for _, tt := range tests {
		if got := paths(attribute(tt.problem, r)); !slices.Equal(got, tt.want) {
			t.Errorf("attribute(%q) = %q, want %q", tt.problem, got, tt.want)
		}
	}
}
