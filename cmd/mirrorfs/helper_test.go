package main

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfs/mirrorfs/config"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
)

func TestHelperArgs(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
		err  string
	}{
		{"mount.fuse3 runs the program by name",
			[]string{"mirrorfs", "/data", "/data", "-o", "rw,dest=h::m,dev,suid"},
			[]string{"mirrorfs", "mount", "--helper", "/data", "/data", "-o", "rw,dest=h::m,dev,suid"}, ""},
		{"mount.fuse3 legacy prog#source: absolute argv0",
			[]string{"/opt/bin/mirrorfs", "/src", "/data", "-o", "dest=h::m"},
			[]string{"/opt/bin/mirrorfs", "mount", "--helper", "/src", "/data", "-o", "dest=h::m"}, ""},
		{"fuse style -f is foreground, glued -o is split",
			[]string{"mirrorfs", "/data", "/data", "-f", "-odest=h::m"},
			[]string{"mirrorfs", "mount", "--helper", "/data", "/data", "--foreground", "-o", "dest=h::m"}, ""},
		{"fuse style -o value is never rewritten",
			[]string{"mirrorfs", "/d", "/d", "-o", "-odd=1"},
			[]string{"mirrorfs", "mount", "--helper", "/d", "/d", "-o", "-odd=1"}, ""},
		{"global flags before the helper form",
			[]string{"mirrorfs", "--run-dir", "/r", "/d", "/d", "-o", "dest=h::m"},
			[]string{"mirrorfs", "--run-dir", "/r", "mount", "--helper", "/d", "/d", "-o", "dest=h::m"}, ""},
		{"-o before the paths",
			[]string{"mirrorfs", "-o", "dest=h::m", "/s", "/d"},
			[]string{"mirrorfs", "mount", "--helper", "-o", "dest=h::m", "/s", "/d"}, ""},
		{"a -o value that looks like a command",
			[]string{"mirrorfs", "-o", "status", "/s", "/d"},
			[]string{"mirrorfs", "mount", "--helper", "-o", "status", "/s", "/d"}, ""},
		{"global flag after the paths stays in front",
			[]string{"mirrorfs", "/s", "/d", "--run-dir", "/r", "-o", "dest=h::m"},
			[]string{"mirrorfs", "--run-dir", "/r", "mount", "--helper", "/s", "/d", "-o", "dest=h::m"}, ""},
		{"subcommands untouched", []string{"mirrorfs", "status", "-o", "/d"}, []string{"mirrorfs", "status", "-o", "/d"}, ""},
		{"mount subcommand untouched", []string{"mirrorfs", "mount", "/d", "-o", "dest=h::m"}, []string{"mirrorfs", "mount", "/d", "-o", "dest=h::m"}, ""},
		{"no -o: not a helper call", []string{"mirrorfs", "stauts", "/d"}, []string{"mirrorfs", "stauts", "/d"}, ""},
		{"no arguments", []string{"mirrorfs"}, []string{"mirrorfs"}, ""},

		{"mount(8) helper protocol",
			[]string{"/sbin/mount.fuse.mirrorfs", "/data", "/data", "-s", "-n", "-v", "-o", "rw,dest=h::m,_netdev"},
			[]string{"/sbin/mount.fuse.mirrorfs", "mount", "--helper", "-o", "rw,dest=h::m,_netdev", "--", "/data", "/data"}, ""},
		{"mount(8) -f is fake, flags may be grouped, -t is dropped",
			[]string{"mount.mirrorfs", "/s", "/d", "-nfv", "-o", "dest=h::m", "-t", "mirrorfs"},
			[]string{"mount.mirrorfs", "mount", "--helper", "--fake", "-o", "dest=h::m", "--", "/s", "/d"}, ""},
		{"options before the paths, glued -o",
			[]string{"mount.mirrorfs", "-odest=h::m", "/s", "/d"},
			[]string{"mount.mirrorfs", "mount", "--helper", "-o", "dest=h::m", "--", "/s", "/d"}, ""},
		{"comma and quotes stay in the one -o argument",
			[]string{"mount.mirrorfs", "/s", "/d", "-o", `dest=h::m,password-file="/etc/a,b"`},
			[]string{"mount.mirrorfs", "mount", "--helper", "-o", `dest=h::m,password-file="/etc/a,b"`, "--", "/s", "/d"}, ""},
		{"dash paths after --",
			[]string{"mount.mirrorfs", "-o", "dest=h::m", "--", "-s", "-d"},
			[]string{"mount.mirrorfs", "mount", "--helper", "-o", "dest=h::m", "--", "-s", "-d"}, ""},
		{"help", []string{"mount.mirrorfs", "--help"}, []string{"mount.mirrorfs", "mount", "--help"}, ""},
		{"one path", []string{"mount.mirrorfs", "/d", "-o", "dest=h::m"}, nil, "expected SOURCE MOUNTPOINT, got 1"},
		{"three paths", []string{"mount.mirrorfs", "/a", "/b", "/c"}, nil, "expected SOURCE MOUNTPOINT, got 3"},
		{"namespaces refused", []string{"mount.mirrorfs", "/s", "/d", "-N", "/proc/1/ns/mnt"}, nil, "another namespace is not supported"},
		{"long flags belong in -o", []string{"mount.mirrorfs", "/s", "/d", "--delay", "1s"}, nil, `unknown flag "--delay" (put mirrorfs options into -o, e.g. -o delay)`},
		{"unknown short flag", []string{"mount.mirrorfs", "/s", "/d", "-x"}, nil, "unknown flag -x"},
		{"-o without value", []string{"mount.mirrorfs", "/s", "/d", "-o"}, nil, "-o needs a value"},
	}
	app := newApp(io.Discard)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := helperArgs(app, tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("helperArgs(%q) error = %v, want one containing %q", tc.in, err, tc.err)
				}
				if code := report(io.Discard, err); code != exitcode.Usage {
					t.Errorf("exit code %d, want %d", code, exitcode.Usage)
				}
				return
			}
			if err != nil {
				t.Fatalf("helperArgs(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("helperArgs(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

// parsed is what the mount command would run with.
type parsed struct {
	cfg          config.Config
	helper, fake bool
}

// parseMount runs argv through the real argument chain (helperArgs,
// normalizeCommandArgs, urfave/cli, loadConfig) without mounting.
func parseMount(t *testing.T, argv []string) (parsed, error) {
	t.Helper()
	app := newApp(io.Discard)
	var p parsed
	app.Command("mount").Action = func(c *cli.Context) error {
		cfg, err := loadConfig(c)
		p = parsed{cfg: cfg, helper: c.Bool(helperFlag), fake: c.Bool(fakeFlag)}
		return err
	}
	args, err := helperArgs(app, argv)
	if err != nil {
		return p, err
	}
	if args, err = normalizeCommandArgs(app, args); err != nil {
		return p, err
	}
	return p, app.Run(args)
}

// TestHelperCommandLines follows mount(8)'s and mount.fuse3's command lines
// all the way to the configuration the mount runs with.
func TestHelperCommandLines(t *testing.T) {
	type want struct {
		source, mountpoint, dest, passFile, logFile string
		delay                                       time.Duration
		helper, fake, foreground, syslog            bool
	}
	tests := []struct {
		name string
		argv []string
		want want
		err  string
	}{
		{"fstab in place through mount.fuse3",
			[]string{"mirrorfs", "/data", "/data", "-o", "rw,nosuid,nodev,noexec,dest=rsyncuser@host::backup,password-file=/etc/rsync.pass,dev,suid"},
			want{mountpoint: "/data", dest: "rsyncuser@host::backup", passFile: "/etc/rsync.pass", delay: 200 * time.Millisecond, helper: true}, ""},
		{"trailing slash is still in place",
			[]string{"mirrorfs", "/data/", "/data", "-o", "dest=h::m"},
			want{mountpoint: "/data", dest: "h::m", delay: 200 * time.Millisecond, helper: true}, ""},
		{"separate source",
			[]string{"mirrorfs", "/srv/src", "/data", "-o", "dest=h::m,delay=1s"},
			want{source: "/srv/src", mountpoint: "/data", dest: "h::m", delay: time.Second, helper: true}, ""},
		{"source option wins over the positional",
			[]string{"mirrorfs", "/data", "/data", "-o", "dest=h::m,source=/other"},
			want{source: "/other", mountpoint: "/data", dest: "h::m", delay: 200 * time.Millisecond, helper: true}, ""},
		{"mount(8) and systemd options are accepted",
			[]string{"/sbin/mount.fuse.mirrorfs", "/data", "/data", "-n", "-o", "rw,dest=h::m,_netdev,nofail,noauto,auto,user,users,x-systemd.requires=network-online.target,x-systemd.automount,dev,nodev,suid,nosuid,exec,noexec"},
			want{mountpoint: "/data", dest: "h::m", delay: 200 * time.Millisecond, helper: true}, ""},
		{"mount -f is fake",
			[]string{"mount.mirrorfs", "/data", "/data", "-f", "-o", "dest=h::m"},
			want{mountpoint: "/data", dest: "h::m", delay: 200 * time.Millisecond, helper: true, fake: true}, ""},
		{"-o foreground",
			[]string{"mount.mirrorfs", "/data", "/data", "-o", "dest=h::m,foreground"},
			want{mountpoint: "/data", dest: "h::m", delay: 200 * time.Millisecond, helper: true, foreground: true}, ""},
		{"fuse style -f",
			[]string{"mirrorfs", "/data", "/data", "-f", "-o", "dest=h::m"},
			want{mountpoint: "/data", dest: "h::m", delay: 200 * time.Millisecond, helper: true, foreground: true}, ""},
		{"log-file and syslog",
			[]string{"mirrorfs", "/data", "/data", "-o", "dest=h::m,log-file=/var/log/mirrorfs.log,syslog"},
			want{mountpoint: "/data", dest: "h::m", logFile: "/var/log/mirrorfs.log", delay: 200 * time.Millisecond, helper: true, syslog: true}, ""},
		{"quoted comma in a value",
			[]string{"mount.mirrorfs", "/d", "/d", "-o", `dest=h::m,password-file="/etc/a,b.pass",delay=1s`},
			want{mountpoint: "/d", dest: "h::m", passFile: "/etc/a,b.pass", delay: time.Second, helper: true}, ""},
		{"single quotes",
			[]string{"mount.mirrorfs", "/d", "/d", "-o", `password-file='/etc/a,b',dest=h::m`},
			want{mountpoint: "/d", dest: "h::m", passFile: "/etc/a,b", delay: 200 * time.Millisecond, helper: true}, ""},
		{"escaped comma in a value",
			[]string{"mirrorfs", "/d", "/d", "-o", `dest=h::m,password-file=/etc/a\,b.pass`},
			want{mountpoint: "/d", dest: "h::m", passFile: "/etc/a,b.pass", delay: 200 * time.Millisecond, helper: true}, ""},
		{"several -o",
			[]string{"mirrorfs", "/d", "/d", "-o", "dest=h::m", "-o", "delay=2s"},
			want{mountpoint: "/d", dest: "h::m", delay: 2 * time.Second, helper: true}, ""},
		{"the subcommand stays foreground",
			[]string{"mirrorfs", "mount", "/d", "--dest", "h::m"},
			want{mountpoint: "/d", dest: "h::m", delay: 200 * time.Millisecond}, ""},
		{"unknown option", []string{"mirrorfs", "/d", "/d", "-o", "dest=h::m,bogus"}, want{}, `unknown option "bogus"`},
		{"typo gets a suggestion", []string{"mount.mirrorfs", "/d", "/d", "-o", "dest=h::m,pasword-file=/x"}, want{}, `did you mean "password-file"`},
		{"ro refused", []string{"mirrorfs", "/d", "/d", "-o", "ro,dest=h::m"}, want{}, `option "ro" refused`},
		{"unterminated quote", []string{"mirrorfs", "/d", "/d", "-o", `dest="h::m`}, want{}, "unterminated"},
		{"no destination", []string{"mirrorfs", "/d", "/d", "-o", "rw"}, want{}, "no destination"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseMount(t, tc.argv)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("%q: error = %v, want one containing %q", tc.argv, err, tc.err)
				}
				if code := report(io.Discard, err); code != exitcode.Usage {
					t.Errorf("exit code %d, want %d", code, exitcode.Usage)
				}
				return
			}
			if err != nil {
				t.Fatalf("%q: %v", tc.argv, err)
			}
			c := p.cfg
			got := want{c.Source, c.Mountpoint, c.Dest, c.PasswordFile, c.LogFile, c.Delay, p.helper, p.fake, c.Foreground, c.Syslog}
			if got != tc.want {
				t.Errorf("%q:\n got %+v\nwant %+v", tc.argv, got, tc.want)
			}
		})
	}
}
