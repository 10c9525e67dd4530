// Package tests holds the end-to-end tests: they build cmd/mirrorfs, mount
// it for real over FUSE and mirror to a real rsync daemon on 127.0.0.1.
package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// mirrorfsBin is the binary under test, built once by TestMain.
var mirrorfsBin string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mirrorfs-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests: creating a directory for the binary:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	mirrorfsBin = filepath.Join(dir, "mirrorfs")
	args := []string{"build", "-o", mirrorfsBin}
	if raceBuild {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../cmd/mirrorfs")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "tests: go build ../cmd/mirrorfs failed:", err)
		return 1
	}
	return m.Run()
}
