package tests

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// defaultOutage is the CI length of the daemon outage; MIRRORFS_OUTAGE=60s
// (make soak-outage) runs the full minute.
const defaultOutage = 8 * time.Second

// TestFaultDaemonOutage stops the daemon for MIRRORFS_OUTAGE while a writer
// keeps changing the tree. Throughout, status shows the failure and the
// backlog; once the daemon is back, everything converges.
func TestFaultDaemonOutage(t *testing.T) {
	outage := envDuration(t, "MIRRORFS_OUTAGE", defaultOutage)
	m := mountMirror(t, mountOptions{Args: []string{"--timeout", "2s", "--contimeout", "2s"}})
	writeMany(t, m.Mnt, "before", 10)
	m.assertMirrored(t, testkit.CompareOptions{})

	m.Daemon.Stop()
	t.Cleanup(m.Daemon.Start) // lets the unmount flush even when the test failed
	end := time.Now().Add(outage)
	write(t, filepath.Join(m.Mnt, "during-first"), "x")
	m.waitFailing(t, "")
	samples := 0
	for i := 0; time.Now().Before(end); i++ {
		write(t, filepath.Join(m.Mnt, fmt.Sprintf("during%04d", i)), fmt.Sprintf("written %d into the outage\n", i))
		if i%5 == 0 {
			st := m.Status(t)
			if st.str("last_error") == "" || st.num("pending")+st.num("in_flight") == 0 {
				t.Fatalf("during the outage status must show the error and the backlog: %v", st)
			}
			samples++
		}
		time.Sleep(100 * time.Millisecond)
	}
	st := m.Status(t)
	t.Logf("after %v of outage (%d status samples): pending %v, consecutive_failures %v, last_error %q",
		outage, samples, st["pending"], st["consecutive_failures"], st.str("last_error"))
	if exists(t, filepath.Join(m.Daemon.Dir, "during-first")) {
		t.Fatal("module changed while the daemon was down?")
	}

	m.Daemon.Start()
	m.assertMirrored(t, testkit.CompareOptions{})
	if st := m.Status(t); st.num("consecutive_failures") != 0 || st.num("pending") != 0 {
		t.Errorf("after the outage: consecutive_failures and pending should be 0: %v", st)
	}
}
