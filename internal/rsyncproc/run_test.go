package rsyncproc

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	t.Setenv("RSYNC_PASSWORD", "secret")
	extra, err := os.Open("/proc/self/exe") // any file: fd 3 must be it
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	tests := []struct {
		name   string
		body   string
		spec   Spec
		code   int
		stdout string
	}{
		{"exit code", "echo boom >&2; exit 23", Spec{}, 23, ""},
		{"stdin to stdout", "cat", Spec{Stdin: []byte("a\x00b\x00")}, 0, "a\x00b\x00"},
		{"runs in /", "pwd", Spec{}, 0, "/\n"},
		{"password env kept", `echo "$RSYNC_PASSWORD"`, Spec{}, 0, "secret\n"},
		{"password env dropped", `echo "${RSYNC_PASSWORD-unset}"`, Spec{DropPasswordEnv: true}, 0, "unset\n"},
		{"owner marker", `echo "$` + OwnerEnv + `"`, Spec{}, 0, Owner() + "\n"},
		{"extra file is fd 3", `test -e /proc/self/fd/3 && ! test -e /proc/self/fd/4 && echo ok`, Spec{ExtraFiles: []*os.File{extra}}, 0, "ok\n"},
		{"own session", `ps -o sid= -p $$ | tr -d ' '; echo $$`, Spec{}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec
			s.Path = script(t, tt.body)
			r := Run(context.Background(), s)
			if r.Code != tt.code || r.StartErr != nil {
				t.Fatalf("code %d, start error %v; want %d (stderr %q)", r.Code, r.StartErr, tt.code, r.Stderr)
			}
			if tt.name == "own session" {
				f := strings.Fields(string(r.Stdout))
				if len(f) != 2 || f[0] != f[1] {
					t.Fatalf("session id and pid differ: %q", r.Stdout)
				}
				return
			}
			if string(r.Stdout) != tt.stdout {
				t.Fatalf("stdout %q, want %q", r.Stdout, tt.stdout)
			}
			if (r.Err() == nil) != (tt.code == 0) {
				t.Fatalf("Err() = %v for code %d", r.Err(), r.Code)
			}
		})
	}
}

func TestRunStartError(t *testing.T) {
	r := Run(context.Background(), Spec{Path: "/nonexistent/rsync"})
	if r.StartErr == nil || r.Code != -1 || r.Err() == nil {
		t.Fatalf("got code %d, start error %v", r.Code, r.StartErr)
	}
}

// A run that does nothing is killed and reported as stalled; one that keeps
// writing, for longer than the stall period, is left alone.
func TestStall(t *testing.T) {
	const stall = 600 * time.Millisecond
	tests := []struct {
		name    string
		body    string
		stalled bool
		code    int
	}{
		{"silent child", "sleep 30", true, -1},
		{"busy", "for i in $(seq 40); do printf '%4096s' x; sleep 0.05; done", false, 0},
		{"quick failure", "exit 12", false, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Run(context.Background(), Spec{Path: script(t, tt.body), Stall: stall})
			if (r.Stalled > 0) != tt.stalled || r.Code != tt.code {
				t.Fatalf("stalled %v, code %d; want stalled=%v code %d", r.Stalled, r.Code, tt.stalled, tt.code)
			}
		})
	}
}
