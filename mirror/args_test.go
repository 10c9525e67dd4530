package mirror

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRsyncArgs(t *testing.T) {
	daemon := Destination{Kind: DestDaemon, User: "u", Host: "h", Port: 8730, Module: "m", Path: "p"}
	local := Destination{Kind: DestLocal, LocalDir: "/mnt/copy"}
	base := []string{"-a", "-H", "-8", "--stats", "--no-human-readable"}
	list := []string{"--files-from=-", "--from0", "--delete-missing-args", "--force"}
	cat := func(parts ...[]string) []string { return slices.Concat(parts...) }
	tests := []struct {
		name string
		cfg  Config
		mode argMode
		want []string
	}{
		{"daemon list", Config{Dest: daemon, PasswordFile: "/etc/pw", Timeout: 30 * time.Second, ConTimeout: 10 * time.Second}, modeList,
			cat(base, list, []string{"--info=progress2", "--timeout=30", "--contimeout=10", "--sockopts=TCP_NODELAY", "--password-file=/etc/pw", "/proc/self/fd/3/", "rsync://u@h:8730/m/p/"})},
		{"local list of new files", Config{Dest: local, Timeout: 30 * time.Second}, modeListNew,
			cat(base, list, []string{"--whole-file", "--info=progress2", "--timeout=30", "/proc/self/fd/3/", "/mnt/copy/"})},
		{"daemon recursive with options", Config{Dest: daemon, Xattrs: true, ACLs: true, Compress: true, NumericIDs: true, Timeout: 1500 * time.Millisecond, ConTimeout: time.Second}, modeListRecursive,
			cat(base, []string{"-X", "-A", "--numeric-ids", "-z"}, list, []string{"-r", "--delete", "--no-inc-recursive", "--info=progress2", "--timeout=2", "--contimeout=1", "--sockopts=TCP_NODELAY", "/proc/self/fd/3/", "rsync://u@h:8730/m/p/"})},
		{"local full", Config{Dest: local, Compress: true, PasswordFile: "/etc/pw", Timeout: 30 * time.Second}, modeFull,
			cat(base, []string{"--delete", "--force", "--no-inc-recursive", "--info=progress2", "--timeout=30", "/proc/self/fd/3/", "/mnt/copy/"})},
		{"probe", Config{Dest: daemon, PasswordFile: "/etc/pw", Timeout: 30 * time.Second, ConTimeout: 10 * time.Second}, modeProbe,
			[]string{"--list-only", "--exclude=*", "--timeout=30", "--contimeout=10", "--sockopts=TCP_NODELAY", "--password-file=/etc/pw", "rsync://u@h:8730/m/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rsyncArgs(&tt.cfg, tt.mode)
			if !slices.Equal(got, tt.want) {
				t.Errorf("args:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestListInput(t *testing.T) {
	names := []string{".", "-leading dash", "new\nline", `back\slash`, "bad\xff\xfe", "sp ace"}
	got := listInput(names)
	if parts := strings.Split(string(got), "\x00"); !slices.Equal(parts[:len(parts)-1], names) || parts[len(parts)-1] != "" {
		t.Errorf("list = %q", got)
	}
}

func TestChildEnv(t *testing.T) {
	t.Setenv("RSYNC_PASSWORD", "from-env")
	has := func(env []string) bool { return slices.Contains(env, "RSYNC_PASSWORD=from-env") }
	if !has(childEnv(&Config{})) {
		t.Error("RSYNC_PASSWORD not passed through without a password file")
	}
	if has(childEnv(&Config{PasswordFile: "/x"})) {
		t.Error("RSYNC_PASSWORD passed along with a password file")
	}
}

func TestBackoff(t *testing.T) {
	c := Config{RetryMin: time.Second, RetryMax: 30 * time.Second}
	var got []time.Duration
	for n := 1; n <= 7; n++ {
		got = append(got, c.backoff(n))
	}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i := range want {
		want[i] *= time.Second
	}
	if !slices.Equal(got, want) {
		t.Errorf("backoff = %v, want %v", got, want)
	}
}

func TestRunAllNew(t *testing.T) {
	born, old := &entry{path: "a", born: true}, &entry{path: "b"}
	tests := []struct {
		name string
		r    run
		want bool
	}{
		{"all born", run{entries: []*entry{born}}, true},
		{"one on the destination", run{entries: []*entry{born, old}}, false},
		{"with pulled names of linked files", run{entries: []*entry{born}, pulled: map[string]*entry{"c": born}}, false},
		{"empty", run{}, false},
	}
	for _, tt := range tests {
		if got := tt.r.allNew(); got != tt.want {
			t.Errorf("%s: allNew = %v, want %v", tt.name, got, tt.want)
		}
	}
}
