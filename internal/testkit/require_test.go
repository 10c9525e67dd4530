package testkit

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder captures how Require ends a test without ending this one.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Fatalf(format string, a ...any) { r.fatal = fmt.Sprintf(format, a...) }
func (r *recorder) Skip(a ...any)                  { r.skip = fmt.Sprint(a...) }

func TestRequireCIFailsInsteadOfSkipping(t *testing.T) {
	Tools["no-such-tool-xyz"] = "some-pkg"
	defer delete(Tools, "no-such-tool-xyz")
	const want = "no-such-tool-xyz is not installed: apt-get install -y some-pkg (or run scripts/deps.sh)"
	tests := []struct {
		ci        string
		wantFatal bool
	}{{"true", true}, {"", false}}
	for _, tc := range tests {
		t.Setenv("CI", tc.ci)
		r := &recorder{TB: t}
		Require(r, "no-such-tool-xyz")
		if tc.wantFatal && (!strings.Contains(r.fatal, want) || r.skip != "") {
			t.Errorf("CI=%q: fatal %q skip %q, want a failure naming the package", tc.ci, r.fatal, r.skip)
		}
		if !tc.wantFatal && (r.skip != want || r.fatal != "") {
			t.Errorf("CI=%q: fatal %q skip %q, want a skip", tc.ci, r.fatal, r.skip)
		}
	}
}

func TestRequireUnknownNameFails(t *testing.T) {
	r := &recorder{TB: t}
	Require(r, "not-a-known-tool")
	if !strings.Contains(r.fatal, "testkit.Tools") {
		t.Errorf("unknown name: fatal %q, want a pointer to testkit.Tools", r.fatal)
	}
}

func TestConditionMessagesSayHowToFix(t *testing.T) {
	for name, check := range conditions {
		if msg := check(); msg != "" && !strings.Contains(msg, ":") {
			t.Errorf("%s: message %q does not say how to fix it", name, msg)
		}
	}
}

// TestDepsScriptCoversTools keeps scripts/deps.sh, which a bare machine
// runs before the tests, in step with the programs the tests require.
func TestDepsScriptCoversTools(t *testing.T) {
	f, err := os.Open("../../scripts/deps.sh")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	script := map[string]string{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "tools='":
			in = true
		case in && line == "'":
			in = false
		case in && line != "":
			fields := strings.Fields(line)
			if len(fields) != 2 {
				t.Fatalf("deps.sh: tool line %q is not \"command package\"", line)
			}
			script[fields[0]] = fields[1]
		}
	}
	for name, pkg := range Tools {
		if script[name] != pkg {
			t.Errorf("testkit.Tools has %s from %s; scripts/deps.sh has %q", name, pkg, script[name])
		}
	}
	for name := range script {
		if _, ok := Tools[name]; !ok {
			t.Errorf("scripts/deps.sh installs %s, which testkit.Tools does not list", name)
		}
	}
}

// A Tools key that is an absolute path is a file, not a program: its
// absence fails under CI=true naming the package that installs it.
func TestRequireFileNamesPackage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-example.c")
	Tools[missing] = "some-dev-pkg"
	defer delete(Tools, missing)
	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	Require(r, missing)
	if !strings.Contains(r.fatal, "apt-get install -y some-dev-pkg") {
		t.Errorf("missing file: fatal %q, want a failure naming some-dev-pkg", r.fatal)
	}
	if err := os.WriteFile(missing, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r = &recorder{TB: t}
	Require(r, missing)
	if r.fatal != "" || r.skip != "" {
		t.Errorf("present file: fatal %q skip %q, want neither", r.fatal, r.skip)
	}
}
