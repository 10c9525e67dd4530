package config

import (
	"errors"
	"strings"
	"testing"
)

// TestLoadDests: every way to give several destinations, and what each
// destination ends up with.
func TestLoadDests(t *testing.T) {
	sections := writeFile(t, `
password-file = /etc/top.secret
compress
exclude = \.tmp$

[dest offsite]
dest = backup@far::data/host1
password-file = /etc/offsite.secret
excludei = \.bak$
no-compress

[dest near]
dest = rsync://near/data
`)
	withTop := writeFile(t, "dest = h::top\n[dest s]\ndest = h::sec\nexclude = ^x/\n")
	tests := []struct {
		name string
		src  Sources
		want []DestConfig // Origin is not compared
	}{
		{"one --dest", Sources{Flags: []Option{flagOpt("dest", "h::a")}},
			[]DestConfig{{Dest: "h::a"}}},
		{"repeated --dest, shared flags apply to each", Sources{Flags: []Option{flagOpt("dest", "h::a"), flagOpt("dest", "h::b"), flagOpt("compress", "true"), flagOpt("password-file", "/p")}},
			[]DestConfig{{Dest: "h::a", Compress: true, PasswordFile: "/p"}, {Dest: "h::b", Compress: true, PasswordFile: "/p"}}},
		{"-o dest twice and --dest", Sources{MountOptions: []string{"dest=h::a,dest=h::b"}, Flags: []Option{flagOpt("dest", "h::c")}},
			[]DestConfig{{Dest: "h::a"}, {Dest: "h::b"}, {Dest: "h::c"}}},
		{"sections override the top", Sources{Flags: []Option{flagOpt("config", sections)}},
			[]DestConfig{
				{Name: "offsite", Dest: "backup@far::data/host1", PasswordFile: "/etc/offsite.secret", Exclude: `\.tmp$`, ExcludeI: `\.bak$`},
				{Name: "near", Dest: "rsync://near/data", PasswordFile: "/etc/top.secret", Compress: true, Exclude: `\.tmp$`},
			}},
		{"command line is the top of the sections", Sources{Flags: []Option{flagOpt("config", sections), flagOpt("password-file", "/cli")}},
			[]DestConfig{
				{Name: "offsite", Dest: "backup@far::data/host1", PasswordFile: "/etc/offsite.secret", Exclude: `\.tmp$`, ExcludeI: `\.bak$`},
				{Name: "near", Dest: "rsync://near/data", PasswordFile: "/cli", Compress: true, Exclude: `\.tmp$`},
			}},
		{"top-level dest in the file, and a section", Sources{Flags: []Option{flagOpt("config", withTop)}},
			[]DestConfig{{Dest: "h::top"}, {Name: "s", Dest: "h::sec", Exclude: "^x/"}}},
		{"command-line dest replaces the file's top-level dest, sections stay", Sources{Flags: []Option{flagOpt("config", withTop), flagOpt("dest", "h::cli")}},
			[]DestConfig{{Dest: "h::cli"}, {Name: "s", Dest: "h::sec", Exclude: "^x/"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Dests) != len(tt.want) {
				t.Fatalf("got %d destinations %+v, want %d", len(c.Dests), c.Dests, len(tt.want))
			}
			for i, d := range c.Dests {
				if d.Origin == "" {
					t.Errorf("destination %d has no origin", i)
				}
				d.Origin = ""
				if d != tt.want[i] {
					t.Errorf("destination %d:\n got %+v\nwant %+v", i, d, tt.want[i])
				}
			}
			if c.Dest != c.Dests[0].Dest {
				t.Errorf("Dest = %q, want the first destination %q", c.Dest, c.Dests[0].Dest)
			}
		})
	}
}

func TestLoadDestsErrors(t *testing.T) {
	unknownInSection := writeFile(t, "[dest a]\ndest = h::a\ndelay = 1s\n")
	twiceInSection := writeFile(t, "[dest a]\ndest = h::a\nexcludei = a\nexcludei = b\n")
	destTwiceInSection := writeFile(t, "[dest a]\ndest = h::a\ndest = h::b\n")
	sameName := writeFile(t, "[dest a]\ndest = h::a\n[dest a]\ndest = h::b\n")
	sameDest := writeFile(t, "[dest a]\ndest = h::m\n[dest b]\ndest = rsync://h/m\n")
	noDest := writeFile(t, "[dest a]\ncompress\n")
	badHeader := writeFile(t, "[dest]\ndest = h::a\n")
	badName := writeFile(t, "[dest a/b]\ndest = h::a\n")
	tests := []struct {
		name     string
		src      Sources
		want     string // substring; FILE is the file's path
		file     string
		repeated bool
	}{
		{"unknown key in a section", Sources{}, `FILE:3: option "delay" cannot be set for one destination (section [dest a]): move it above the first section`, unknownInSection, false},
		{"key twice in a section", Sources{}, `FILE:4: option "excludei" given twice (also at FILE:3): combine the patterns`, twiceInSection, true},
		{"dest twice in a section", Sources{}, `FILE:3: option "dest" given twice (also at FILE:2): a section is one destination`, destTwiceInSection, true},
		{"two sections with one name", Sources{}, `FILE:3: section [dest a] given twice (also at FILE:1)`, sameName, true},
		{"two sections with one destination", Sources{}, `destination rsync://h/m given twice (FILE:2, FILE:4)`, sameDest, true},
		{"section without dest", Sources{}, `FILE:1: section [dest a] has no dest line`, noDest, false},
		{"section without a name", Sources{}, `FILE:1: "[dest]" has no name`, badHeader, false},
		{"bad section name", Sources{}, `FILE:1: "[dest a/b]": destination name "a/b": use only letters`, badName, false},
		{"a section and a --dest with its string", Sources{Flags: []Option{flagOpt("dest", "h::m")}}, `destination h::m given twice (--dest h::m, FILE:2)`, sameDest, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src
			src.Flags = append(src.Flags, flagOpt("config", tt.file))
			_, err := Load(src)
			want := strings.ReplaceAll(tt.want, "FILE", tt.file)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error = %v, want %q", err, want)
			}
			if errors.Is(err, ErrRepeated) != tt.repeated {
				t.Errorf("errors.Is(err, ErrRepeated) = %v, want %v", !tt.repeated, tt.repeated)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// TestEngines: each destination's engine gets the shared settings, its own
// per-destination ones and its name.
func TestEngines(t *testing.T) {
	conf := writeFile(t, "delay = 3s\ncompress\n[dest far]\ndest = h::far\nno-compress\npassword-file = /far\n")
	c, err := Load(Sources{Flags: []Option{flagOpt("config", conf), flagOpt("dest", "h::near")}})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := c.Engines()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("got %d engine configs, want 2", len(ms))
	}
	near, far := ms[0], ms[1]
	if near.Name != "" || near.DestName() != "rsync://h/near" || !near.Compress || near.Delay != 3e9 {
		t.Errorf("near: name %q, dest name %q, compress %v, delay %v", near.Name, near.DestName(), near.Compress, near.Delay)
	}
	if far.Name != "far" || far.DestName() != "far" || far.Compress || far.PasswordFile != "/far" || far.Delay != 3e9 {
		t.Errorf("far: name %q, compress %v, password file %q, delay %v", far.Name, far.Compress, far.PasswordFile, far.Delay)
	}
	c.Dests = append(c.Dests, DestConfig{Name: "bad", Dest: "http://x/y", Origin: "--dest"})
	if _, err := c.Engines(); err == nil || !strings.Contains(err.Error(), "destination bad (--dest)") {
		t.Errorf("a bad destination: error %v, want it named", err)
	}
}
