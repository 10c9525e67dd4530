package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseMountOptions(t *testing.T) {
	o := func(k, v string) Option { return Option{Key: k, Value: v, HasValue: true, Origin: "-o"} }
	flag := func(k string) Option { return Option{Key: k, Origin: "-o"} }
	tests := []struct {
		name    string
		in      string
		want    []Option
		wantErr string
	}{
		{"empty", "", nil, ""},
		{"only commas", ",,,", nil, ""},
		{"plain", "delay=2s,xattrs", []Option{o("delay", "2s"), flag("xattrs")}, ""},
		{"empty items", ",delay=2s,,xattrs,", []Option{o("delay", "2s"), flag("xattrs")}, ""},
		{"spaces trimmed", " delay = 2s , xattrs ", []Option{o("delay", "2s"), flag("xattrs")}, ""},
		{"escaped comma", `dest=host::m/a\,b,acls`, []Option{o("dest", "host::m/a,b"), flag("acls")}, ""},
		{"escaped backslash", `dest=a\\,acls`, []Option{o("dest", `a\`), flag("acls")}, ""},
		{"other backslash kept", `dest=a\b`, []Option{o("dest", `a\b`)}, ""},
		{"double quoted comma", `dest="a,b",acls`, []Option{o("dest", "a,b"), flag("acls")}, ""},
		{"single quoted comma", `dest='a,b'`, []Option{o("dest", "a,b")}, ""},
		{"quoted keeps spaces", `dest=" a b "`, []Option{o("dest", " a b ")}, ""},
		{"escaped quote in quotes", `dest="a\"b"`, []Option{o("dest", `a"b`)}, ""},
		{"other quote inside", `dest="it's"`, []Option{o("dest", "it's")}, ""},
		{"apostrophe unquoted", `source=/data/bob's`, []Option{o("source", "/data/bob's")}, ""},
		{"equals in value", "dest=rsync://u@h/m?x=1", []Option{o("dest", "rsync://u@h/m?x=1")}, ""},
		{"empty value", "dest=", []Option{o("dest", "")}, ""},
		{"negated bool", "no-initial-sync", []Option{flag("no-initial-sync")}, ""},
		{"mount-only kept", "_netdev,nofail,x-systemd.automount,x-mount.mkdir=0700,comment=a\\,b,rw,noatime",
			[]Option{flag("_netdev"), flag("nofail"), flag("x-systemd.automount"), o("x-mount.mkdir", "0700"), o("comment", "a,b"), flag("rw"), flag("noatime")}, ""},
		{"unknown", "dely=2s", nil, `did you mean "delay"`},
		{"unknown far", "frobnicate", nil, "valid options:"},
		{"ro refused", "rw,ro", nil, `"ro" refused`},
		{"sync refused", "sync", nil, `"sync" is not supported`},
		{"unterminated quote", `dest="abc`, nil, "unterminated"},
		{"text after quote", `dest="a"b`, nil, "after the closing quote"},
		{"no key", "=2s", nil, "no option name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMountOptions(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseMountOptions(%q) error = %v, want containing %q", tt.in, err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "-o: ") {
					t.Errorf("error %q does not name its origin", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMountOptions(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseMountOptions(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestApplyMountOptions(t *testing.T) {
	opts, err := ParseMountOptions(`_netdev,nofail,x-systemd.requires=network-online.target,dest="h::m/a,b",delay=1,no-initial-sync,xattrs=off,acls,defaults`)
	if err != nil {
		t.Fatal(err)
	}
	c := Defaults()
	if err := c.Apply(opts); err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Dest, want.Delay, want.InitialSync, want.Xattrs, want.ACLs = "h::m/a,b", 1e9, false, false, true
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
}

func TestApplyNamesOrigin(t *testing.T) {
	c := Defaults()
	err := c.Apply([]Option{{Key: "delay", Value: "abc", HasValue: true, Origin: "/etc/m.conf:7"}})
	if err == nil || err.Error() != `/etc/m.conf:7: delay "abc": not a duration (use e.g. 200ms, 2s, 5m, or plain seconds)` {
		t.Errorf("error = %v", err)
	}
	err = c.Apply([]Option{{Key: "dely", Value: "1s", HasValue: true, Origin: "--dely"}})
	if !errors.Is(err, ErrUnknownOption) || !strings.HasPrefix(err.Error(), "--dely: ") {
		t.Errorf("error = %v", err)
	}
}
