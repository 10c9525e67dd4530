package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// TestDestinationFull mirrors to a module on a 4 MiB tmpfs. A file that
// does not fit cannot be shipped: status says so and nothing is lost; once
// it is removed, everything converges.
func TestDestinationFull(t *testing.T) {
	requireE2E(t)
	modDir := filepath.Join(t.TempDir(), "small-module")
	must(t, os.Mkdir(modDir, 0o755))
	if err := unix.Mount("tmpfs", modDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=4m,mode=0755"); err != nil {
		t.Fatalf("mounting a 4 MiB tmpfs for the module: %v", err)
	}
	// Registered before the daemon and the mirror, so it runs after them.
	t.Cleanup(func() {
		ok, msg := testkit.Poll(10*time.Second, func() (bool, string) {
			err := unix.Unmount(modDir, 0)
			return err == nil, fmt.Sprint(err)
		})
		if !ok {
			t.Errorf("unmounting module tmpfs: %s; detaching it", msg)
			unix.Unmount(modDir, unix.MNT_DETACH)
		}
	})
	m := mountMirror(t, mountOptions{DaemonOpts: testkit.DaemonOptions{Dir: modDir}})
	write(t, m.Mnt+"/small-before", "s")
	m.assertMirrored(t, testkit.CompareOptions{})

	must(t, os.WriteFile(m.Mnt+"/too-big.bin", make([]byte, 6<<20), 0o644))
	write(t, m.Mnt+"/small-during", "s")
	testkit.Eventually(t, convergeTimeout, func() (bool, string) {
		st := m.Status(t)
		txt := strings.ToLower(st.String())
		ok := strings.Contains(txt, "space") || strings.Contains(txt, "too-big.bin")
		return ok && st.num("pending")+st.num("in_flight") > 0,
			"want status to show the pending too-big.bin or a no-space error: " + st.String()
	})
	if code, stderr := m.SyncCode(t, 5*time.Second); code == 0 {
		t.Errorf("sync --wait returned 0 although too-big.bin cannot fit on the module; stderr: %s", stderr)
	}

	must(t, os.Remove(m.Mnt+"/too-big.bin"))
	write(t, m.Mnt+"/small-after", "s")
	m.assertMirrored(t, testkit.CompareOptions{})
}
