package mirror

import (
	"os"
	osexec "os/exec"
	"testing"
)

// requireRsync fails under CI (never skips there) and skips elsewhere.
func requireRsync(t *testing.T) string {
	t.Helper()
	p, err := osexec.LookPath("rsync")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("rsync is required for this test but was not found in PATH: install rsync 3.1.0 or newer")
		}
		t.Skip("rsync not installed")
	}
	return p
}

func command(name string, args ...string) ([]byte, error) {
	return osexec.Command(name, args...).CombinedOutput()
}
