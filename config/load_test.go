package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func flagOpt(name, value string) Option {
	return Option{Key: name, Value: value, HasValue: true, Origin: "--" + name}
}

func TestLoad(t *testing.T) {
	conf := writeFile(t, "dest = h::file\ndelay = 1s\nmax-delay = 10s\nxattrs\ntimeout = 40\n")
	tests := []struct {
		name  string
		src   Sources
		check func(Config) bool
	}{
		{"defaults only", Sources{}, func(c Config) bool { return reflect.DeepEqual(c, Defaults()) }},
		{"file from -o, -o overrides the file", Sources{MountOptions: []string{"config=" + conf + ",delay=3s"}}, func(c Config) bool {
			return c.Dest == "h::file" && c.Delay == 3*time.Second && c.MaxDelay == 10*time.Second && c.Xattrs && c.Timeout == 40*time.Second && c.ConfigFile == conf
		}},
		{"file from --config, flags override the file", Sources{MountOptions: []string{"no-xattrs"}, Flags: []Option{flagOpt("config", conf), flagOpt("delay", "4s")}},
			func(c Config) bool {
				return c.Delay == 4*time.Second && !c.Xattrs && c.Dest == "h::file" && c.ConfigFile == conf
			}},
		{"several -o arguments", Sources{MountOptions: []string{"dest=h::m", "delay=2s"}}, func(c Config) bool { return c.Dest == "h::m" && c.Delay == 2*time.Second }},
		{"-o and flags, different keys", Sources{MountOptions: []string{"delay=2s"}, Flags: []Option{flagOpt("dest", "h::m")}},
			func(c Config) bool { return c.Dest == "h::m" && c.Delay == 2*time.Second }},
		{"delay=0 is itself", Sources{MountOptions: []string{"delay=0"}}, func(c Config) bool { return c.Delay == 0 }},
		{"mount-only options may repeat", Sources{MountOptions: []string{"rw,_netdev,rw", "_netdev"}}, func(c Config) bool { return reflect.DeepEqual(c, Defaults()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("got %+v", c)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	bad := writeFile(t, "delay = 1s\nmax-delay = later\n")
	a := writeFile(t, "dest = h::a\n")
	b := writeFile(t, "dest = h::b\n")
	twice := writeFile(t, "delay = 1s\n# c\ndelay = 2s\n")
	destTwice := writeFile(t, "dest = h::a\ndest = h::a\n")
	tests := []struct {
		name     string
		src      Sources
		want     string // prefix of the error
		repeated bool
	}{
		{"bad -o value", Sources{MountOptions: []string{"delay=x"}}, `-o: delay "x": not a duration`, false},
		{"bad file value", Sources{MountOptions: []string{"config=" + bad}}, bad + `:2: max-delay "later": not a duration`, false},
		{"missing file", Sources{MountOptions: []string{"config=" + bad + "-missing"}}, "config file: open " + bad + "-missing: no such file", false},
		{"ro", Sources{MountOptions: []string{"ro"}}, `-o: option "ro" refused`, false},
		{"--config and -o config", Sources{MountOptions: []string{"config=" + b}, Flags: []Option{flagOpt("config", a)}},
			"config file given twice (-o config=" + b + ", --config " + a + "): give one config file", true},
		{"-o config twice", Sources{MountOptions: []string{"config=" + a, "config=" + b}}, "config file given twice (-o config=" + a + ", -o config=" + b + ")", true},
		{"--config twice", Sources{Flags: []Option{flagOpt("config", a), flagOpt("config", b)}}, "config file given twice (--config " + a + ", --config " + b + ")", true},
		{"the same --dest twice", Sources{Flags: []Option{flagOpt("dest", "h::a"), flagOpt("dest", "rsync://h/a")}},
			`destination rsync://h/a given twice (--dest h::a, --dest rsync://h/a): give each destination once`, true},
		{"-o delay twice", Sources{MountOptions: []string{"delay=1s,delay=2s"}}, `option "delay" given twice (-o delay=1s, -o delay=2s): give it once`, true},
		{"-o delay and --delay", Sources{MountOptions: []string{"delay=1s"}, Flags: []Option{flagOpt("delay", "2s")}}, `option "delay" given twice (-o delay=1s, --delay 2s)`, true},
		{"bool and its negation", Sources{MountOptions: []string{"xattrs", "no-xattrs"}}, `option "xattrs" given twice (-o xattrs, -o no-xattrs)`, true},
		{"bool flag twice", Sources{Flags: []Option{flagOpt("xattrs", "true"), flagOpt("xattrs", "false")}}, `option "xattrs" given twice (--xattrs, --xattrs=false)`, true},
		{"exclude twice", Sources{MountOptions: []string{`exclude=\.swp$`, "exclude=^tmp/"}}, `option "exclude" given twice (-o exclude=\.swp$, -o exclude=^tmp/): combine the patterns`, true},
		{"delay twice in the file", Sources{Flags: []Option{flagOpt("config", twice)}}, twice + `:3: option "delay" given twice (also at ` + twice + `:1): keep one of the lines`, true},
		{"the same dest twice in the file", Sources{Flags: []Option{flagOpt("config", destTwice)}}, `destination h::a given twice (` + destTwice + `:1, ` + destTwice + `:2)`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.src)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error = %v, want prefix %q", err, tt.want)
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
