package mirror

import (
	osexec "os/exec"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// requireRsync fails under CI (never skips there) and skips elsewhere.
func requireRsync(t *testing.T) string {
	t.Helper()
	return testkit.RequireTool(t, "rsync")
}

func command(name string, args ...string) ([]byte, error) {
	return osexec.Command(name, args...).CombinedOutput()
}
