package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// TestFaultQueueOverflow: with the daemon down, more changes than
// max-pending pile up, in directories and at the top level. The queue
// stays within its bound, status and the log say a full sync is owed,
// and once the daemon is back everything converges.
func TestFaultQueueOverflow(t *testing.T) {
	const limit, dirs, perDir, top = 1000, 8, 300, 300
	m := mountMirror(t, mountOptions{Args: []string{"-o", fmt.Sprintf("max-pending=%d", limit), "--timeout", "2s", "--contimeout", "2s"}})
	for d := range dirs {
		if err := os.Mkdir(filepath.Join(m.Mnt, fmt.Sprintf("d%d", d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m.assertMirrored(t, testkit.CompareOptions{})

	m.Daemon.Stop()
	t.Cleanup(m.Daemon.Start) // lets the unmount flush even when the test failed
	for i := range perDir {
		for d := range dirs {
			write(t, filepath.Join(m.Mnt, fmt.Sprintf("d%d/f%03d", d, i)), "x")
		}
	}
	for i := range top {
		write(t, filepath.Join(m.Mnt, fmt.Sprintf("top%03d", i)), "t")
	}
	st := m.Status(t)
	if n := st.num("pending") + st.num("in_flight"); n > limit || !st.flag("overflow_full_sync") {
		t.Fatalf("%d changes with max-pending=%d: pending %v, in flight %v, overflow_full_sync %v", dirs*perDir+top, limit, st["pending"], st["in_flight"], st["overflow_full_sync"])
	}
	if txt, _, _ := m.cli(t, "status", m.Mnt); !strings.Contains(txt, "full sync is owed") {
		t.Errorf("status does not say a full sync is owed:\n%s", txt)
	}

	m.Daemon.Start()
	m.assertMirrored(t, testkit.CompareOptions{})
	if st := m.Status(t); st.flag("overflow_full_sync") || st.num("pending") != 0 {
		t.Errorf("after convergence: %v", st)
	}
	if !strings.Contains(m.logText(), "max-pending") {
		t.Errorf("the log does not mention max-pending:\n%s", m.logText())
	}
}

func (s status) flag(key string) bool {
	v, _ := s[key].(bool)
	return v
}
