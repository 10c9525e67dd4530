package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/exitcode"
)

func TestVerifyUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"verify"}, exitcode.Usage, "expected one MOUNTPOINT"},
		{[]string{"verify", "--repair", "--repair", "/x"}, exitcode.Usage, "option --repair given twice"},
		{[]string{"verify", "--json", "/x", "--json"}, exitcode.Usage, "option --json given twice"},
		{[]string{"verify", "--bogus", "/x"}, exitcode.Usage, "bogus"},
		{[]string{"verify", "--run-dir", "/nonexistent", "/x"}, exitcode.Usage, ""}, // --run-dir is global: before the command
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		code := run(append([]string{"mirrorfs"}, tt.args...), &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.msg) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%q: exit %d, %q; want exit %d and one line with %q", tt.args, code, stderr.String(), tt.code, tt.msg)
		}
	}
}

func TestDisplayPath(t *testing.T) {
	for p, want := range map[string]string{
		"plain/name": "plain/name",
		"-dash":      "-dash",
		"new\nline":  `"new\nline"`,
		"\xff\xfe":   `"\xff\xfe"`,
		" lead":      `" lead"`,
		"ünïcödé":    "ünïcödé",
		`quote"s`:    `"quote\"s"`,
		"tab\there":  `"tab\there"`,
	} {
		if got := displayPath(p); got != want {
			t.Errorf("displayPath(%q) = %s, want %s", p, got, want)
		}
	}
}
