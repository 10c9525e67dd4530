package mirror

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFullTrackerLines(t *testing.T) {
	out := "\r              2   0%    0.00kB/s    0:00:00  " +
		"\r              5   0%    2.93kB/s    0:00:00 (xfr#2, to-chk=2998/3001)" +
		"\r      1,234,567  41%    9.00MB/s    0:00:03 (xfr#40, to-chk=1000/3001)\n" +
		"\nNumber of files: 3,001 (reg: 3,000, dir: 1)\nTotal bytes sent: 4,567\n"
	tr := newFullTracker(time.Unix(1, 0))
	s := &lineSink{claim: tr.line}
	// Written in small pieces, as a pipe may deliver it.
	for i := 0; i < len(out); i += 7 {
		s.Write([]byte(out[i:min(i+7, len(out))]))
	}
	got := tr.snapshot()
	want := FullProgress{Started: time.Unix(1, 0), Files: 3001, Checked: 2001, Transferred: 40, Bytes: 1234567}
	if *got != want {
		t.Errorf("progress %+v, want %+v", *got, want)
	}
	kept := string(s.Kept())
	if strings.Contains(kept, "xfr#") || !strings.Contains(kept, "Total bytes sent: 4,567") {
		t.Errorf("kept output %q: want the stats block without progress lines", kept)
	}
	if n := statNumber([]byte(kept), "Total bytes sent"); n != 4567 {
		t.Errorf("Total bytes sent %d from the kept output", n)
	}
	var nilTracker *fullTracker
	if nilTracker.snapshot() != nil {
		t.Error("a nil tracker has no progress")
	}
}

func TestLineSinkBounds(t *testing.T) {
	s := &lineSink{}
	s.Write([]byte(strings.Repeat("x", maxKeptOut) + "\nkept\nlast"))
	if got := string(s.Kept()); got != "kept\nlast\n" {
		t.Errorf("kept %q", got)
	}
}

// The initial sync reports how far it got while it runs.
func TestInitialSyncProgress(t *testing.T) {
	dst := t.TempDir()
	d, _ := ParseDestination(dst)
	h := newHarness(t, d, dst, false, func(c *Config) { c.InitialSync = true })
	const n = 20000
	for i := range n {
		mustWrite(t, filepath.Join(h.src, fmt.Sprintf("f%05d", i)), "x")
	}
	h.start()
	var seen []FullProgress
	waitFor(t, "the initial sync to end", func() bool {
		st := h.eng.Status()
		if p := st.InitialSync.Progress; p != nil && p.Files > 0 && (len(seen) == 0 || *p != seen[len(seen)-1]) {
			seen = append(seen, *p)
		}
		return st.InitialSync.Done
	})
	if len(seen) == 0 {
		t.Fatal("no progress seen while the initial sync ran")
	}
	last := seen[len(seen)-1]
	t.Logf("%d progress snapshots, the last %+v", len(seen), last)
	if last.Files != n+1 || last.Checked > last.Files || last.Transferred > n || last.Started.IsZero() {
		t.Errorf("progress %+v: want %d files (and the root)", last, n)
	}
	if h.eng.Status().InitialSync.Progress != nil {
		t.Error("progress still shown once the initial sync is done")
	}
}
