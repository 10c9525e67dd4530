package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

// TestFaultVanishingFile deletes and recreates one file in a tight loop
// while batches ship (rsync exits 24, "file has vanished", when it loses the
// race); the file ends in whatever state the loop left and the module
// matches it.
func TestFaultVanishingFile(t *testing.T) {
	codes := filepath.Join(t.TempDir(), "exit-codes")
	m := mountMirror(t, mountOptions{Args: []string{"--max-delay", "200ms", "--rsync", countingRsync(t, codes)}})
	p := filepath.Join(m.Mnt, "flicker")
	data := []byte(strings.Repeat("flicker ", 32<<10))
	var rounds atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the flickering file
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			os.Remove(p)
			os.WriteFile(p, data, 0o644)
			rounds.Add(1)
		}
	}()
	go func() { // other changes keep batches going
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			os.WriteFile(filepath.Join(m.Mnt, fmt.Sprintf("steady%d", i%20)), []byte(fmt.Sprint(i)), 0o644)
		}
	}()
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	m.assertMirrored(t, testkit.CompareOptions{})
	out, _ := os.ReadFile(codes)
	t.Logf("%d delete/recreate rounds; rsync runs that lost the race (exit 24): %d of %d",
		rounds.Load(), strings.Count(string(out), "24\n"), strings.Count(string(out), "\n"))
}

// countingRsync wraps the real rsync and appends each exit code to codes.
func countingRsync(t *testing.T, codes string) string {
	t.Helper()
	real, err := exec.LookPath("rsync")
	must(t, err)
	w := filepath.Join(t.TempDir(), "rsync-counting")
	must(t, os.WriteFile(w, []byte("#!/bin/sh\n"+real+" \"$@\"\nrc=$?\necho $rc >> "+codes+"\nexit $rc\n"), 0o755))
	return w
}

// unprivilegedRsync writes a wrapper that runs the real rsync as nobody, so
// a root-only file is unreadable to it, as it would be to a mirrorfs not
// running as root. The password moves from the (root-only) file to
// RSYNC_PASSWORD.
func unprivilegedRsync(t *testing.T) string {
	t.Helper()
	real, err := exec.LookPath("rsync")
	must(t, err)
	testkit.Require(t, "setpriv")
	w := filepath.Join(t.TempDir(), "rsync-as-nobody")
	script := `#!/bin/sh
for a; do
	shift
	case $a in
	--password-file=*) RSYNC_PASSWORD=$(cat "${a#--password-file=}"); export RSYNC_PASSWORD ;;
	*) set -- "$@" "$a" ;;
	esac
done
exec setpriv --reuid=65534 --regid=65534 --clear-groups ` + real + ` "$@"
`
	must(t, os.WriteFile(w, []byte(script), 0o755))
	return w
}

// TestFaultUnreadableFile: a file rsync cannot read stays queued, is listed
// in status as stuck with its error, and sync --wait does not report it as
// mirrored; once readable, it ships and the trees converge.
func TestFaultUnreadableFile(t *testing.T) {
	requireE2E(t)
	m := mountMirror(t, mountOptions{Args: []string{"--rsync", unprivilegedRsync(t)}})
	write(t, m.Mnt+"/readable", "r")
	must(t, os.WriteFile(m.Mnt+"/secret", []byte("root only"), 0o600))
	must(t, os.Chmod(m.Mnt+"/secret", 0o600))

	code, stderr := m.SyncCode(t, 30*time.Second)
	if code == 0 {
		t.Fatalf("sync --wait returned 0 although secret cannot be read by rsync; stderr: %s", stderr)
	}
	if !strings.Contains(stderr, "secret") {
		t.Errorf("sync --wait (exit %d) does not name the stuck path: %s", code, stderr)
	}
	st := m.Status(t)
	var found map[string]any
	for _, s := range st.stuck() {
		if s["path"] == "secret" {
			found = s
		}
	}
	if found == nil || !strings.Contains(fmt.Sprint(found["error"]), "Permission denied") {
		t.Fatalf("status should list secret as stuck with rsync's error: %v", st)
	}
	t.Logf("stuck: %v (sync --wait exit %d)", found, code)
	if st.num("pending")+st.num("in_flight") == 0 {
		t.Errorf("secret is not queued any more: %v", st)
	}
	if exists(t, m.Daemon.Dir+"/secret") {
		t.Error("secret reached the module although rsync could not read it?")
	}
	if !exists(t, m.Daemon.Dir+"/readable") {
		t.Error("the readable file of the same batch did not ship")
	}

	must(t, os.Chmod(m.Mnt+"/secret", 0o644))
	m.assertMirrored(t, testkit.CompareOptions{})
}
