package mirror

import (
	"context"
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
	cfg := testConfig(func(c *Config) {
		c.Dest, c.RsyncPath = Destination{Kind: DestLocal, LocalDir: t.TempDir()}, fakeRsync(t, "ls /proc/$$/fd")
	})
	if err := cfg.setDefaults(); err != nil {
		t.Fatal(err)
	}
	r := execRsync(context.Background(), &cfg, nil, nil, 0)
	if r.code != 0 {
		t.Fatalf("code %d: %s", r.code, r.stderr)
	}
	for _, f := range strings.Fields(string(r.stdout)) {
		if f == strconv.Itoa(fd) {
			t.Fatalf("child inherited fd %d; its descriptors: %s", fd, r.stdout)
		}
	}
}
