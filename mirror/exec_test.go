package mirror

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// rsync must not inherit descriptors it was not given: an inherited
// /dev/fuse would keep a dead mount's connection open.
func TestRsyncInheritsNoStrayDescriptors(t *testing.T) {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY, 0) // no O_CLOEXEC, as go-fuse does
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	closeOnExecAll()
	out, err := exec.Command("sh", "-c", "ls /proc/self/fd").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(string(out)) {
		if f == strconv.Itoa(fd) {
			t.Fatalf("child inherited fd %d; its descriptors: %s", fd, out)
		}
	}
}
