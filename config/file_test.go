package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mirrorfs.conf")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseFile(t *testing.T) {
	kv := func(k, v string, line int) Option {
		return Option{Key: k, Value: v, HasValue: true, Origin: "FILE:" + strconv.Itoa(line)}
	}
	tests := []struct {
		name    string
		in      string
		want    []Option
		wantErr string // "FILE" is replaced by the path
	}{
		{"empty", "", nil, ""},
		{"comments and blanks", "# comment\n\n  ; other comment\n\t\n", nil, ""},
		{"key value", "delay = 2s\nmax-delay=5s\n", []Option{kv("delay", "2s", 1), kv("max-delay", "5s", 2)}, ""},
		{"bool alone", "\nxattrs\nno-initial-sync\n", []Option{{Key: "xattrs", Origin: "FILE:2"}, {Key: "no-initial-sync", Origin: "FILE:3"}}, ""},
		{"crlf and bom", "\ufeffdelay = 2s\r\nacls = yes\r\n", []Option{kv("delay", "2s", 1), kv("acls", "yes", 2)}, ""},
		{"double quotes", `dest = " h::m/a b "`, []Option{kv("dest", " h::m/a b ", 1)}, ""},
		{"single quotes and comment", `dest = 'h::m/a#b' # where`, []Option{kv("dest", "h::m/a#b", 1)}, ""},
		{"hash in unquoted value", "dest = h::m/a#b", []Option{kv("dest", "h::m/a#b", 1)}, ""},
		{"equals in value", "dest = rsync://h/m?a=b", []Option{kv("dest", "rsync://h/m?a=b", 1)}, ""},
		{"empty value", "dest =", []Option{kv("dest", "", 1)}, ""},
		{"mount-only", "_netdev\nx-systemd.automount", []Option{{Key: "_netdev", Origin: "FILE:1"}, {Key: "x-systemd.automount", Origin: "FILE:2"}}, ""},
		{"unknown key", "delay = 1s\n\ndelya = 2s\n", nil, `FILE:3: unknown option "delya": did you mean "delay"?`},
		{"no equals", "delay 2s", nil, "FILE:1: \"delay 2s\" is not an option line"},
		{"no key", " = 2s", nil, "FILE:1: \"= 2s\" has no option name"},
		{"section", "[mirror]\ndelay = 1s\n", nil, `FILE:1: "[mirror]" is not a known section`},
		{"ro", "# x\nro", nil, `FILE:2: option "ro" refused`},
		{"config inside config", "config = /x", nil, "FILE:1: option \"config\" cannot be used inside a config file"},
		{"unterminated quote", "\n\ndest = \"abc", nil, "FILE:3: option \"dest\": unterminated"},
		{"text after quote", `dest = "a" b`, nil, `FILE:1: option "dest": unexpected text "b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, tt.in)
			got, err := ParseFile(p)
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "FILE", p)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error = %v, want containing %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				tt.want[i].Origin = strings.ReplaceAll(tt.want[i].Origin, "FILE", p)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseFileMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.conf")
	_, err := ParseFile(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "--config") {
		t.Errorf("error = %v", err)
	}
}

func TestApplyFileValueErrorHasLine(t *testing.T) {
	p := writeFile(t, "dest = h::m\n# c\nmax-delay = soon\n")
	opts, err := ParseFile(p)
	if err != nil {
		t.Fatal(err)
	}
	c := Defaults()
	err = c.Apply(opts)
	want := p + `:3: max-delay "soon": not a duration`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v, want prefix %q", err, want)
	}
}
