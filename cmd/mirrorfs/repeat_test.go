package main

import (
	"io"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
)

// TestRepeatedFlag: a client command's flag given twice is a usage error,
// never "the last one wins"; flags given once, and the mount's options
// (checked by config), pass.
func TestRepeatedFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // "" : no repeat error
	}{
		{[]string{"sync", "--timeout", "1m", "--timeout", "5s", "/mnt"}, "option --timeout given twice"},
		{[]string{"sync", "--timeout=1m", "--timeout", "5s", "/mnt"}, "option --timeout given twice"},
		{[]string{"sync", "--wait", "--wait", "/mnt"}, "option --wait given twice"},
		{[]string{"status", "--json", "/mnt", "--json"}, "option --json given twice"},
		{[]string{"release", "--path", "a", "--path", "b", "/mnt"}, "option --path given twice"},
		{[]string{"verify", "--repair", "--repair", "/mnt"}, "option --repair given twice"},
		{[]string{"sync", "--wait", "--timeout", "1m", "/mnt"}, ""},
		{[]string{"sync", "--timeout", "--timeout", "/mnt"}, ""}, // the value of --timeout, then one flag
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			app := newApp(io.Discard)
			err := repeatedFlag(app.Command(tc.args[0]), tc.args[1:])
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("error %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			case err != nil && report(io.Discard, err) != exitcode.Usage:
				t.Fatalf("exit code %d, want %d", report(io.Discard, err), exitcode.Usage)
			}
		})
	}
}
