package mirror

import (
	"os"
	"testing"
	"time"
)

// A write through one name of a hard-linked file is reported under
// whichever name the filesystem knows the inode by. The receiver's other
// names must follow: the file is updated in place, not replaced.
func TestEngineHardLinkWrittenThroughOtherName(t *testing.T) {
	dm := startDaemon(t)
	pw := passwordFile(t, daemonPass)
	h := newHarness(t, dm.dest(), dm.module, true, func(c *Config) { c.PasswordFile = pw })
	h.write("a", "first")
	if err := os.Link(h.abs("a"), h.abs("b")); err != nil {
		t.Fatal(err)
	}
	h.add(Event{Op: OpCreate, Path: "b"})
	h.add(Event{Op: OpAttrib, Path: "a"})
	h.mustSync()
	compareTrees(t, h.src, dm.module, nil)

	// Written through b, reported as a (the name the inode was first seen by).
	if err := os.WriteFile(h.abs("b"), []byte("second, longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.add(Event{Op: OpModify, Path: "a"})
	if _, err := h.sync(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, h.src, dm.module, nil)
}
