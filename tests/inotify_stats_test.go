package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInotifyStats: `mirrorfs stats` counts a scripted workload per event
// type, in total and per path, busiest path first.
func TestInotifyStats(t *testing.T) {
	m := mountMirror(t, mountOptions{})
	p := func(rel string) string { return filepath.Join(m.Mnt, rel) }
	for range 5 {
		must(t, os.WriteFile(p("hot.txt"), []byte("hot"), 0o644)) // create once, then truncate + write
	}
	must(t, os.WriteFile(p("cold.txt"), []byte("cold"), 0o644))
	must(t, os.Chmod(p("cold.txt"), 0o600))
	must(t, os.Mkdir(p("d"), 0o755))
	must(t, os.Rename(p("cold.txt"), p("d/cold.txt")))
	must(t, os.Remove(p("d/cold.txt")))

	out, errOut, code := m.cli(t, "stats", "--json", m.Mnt)
	if code != 0 {
		t.Fatalf("mirrorfs stats --json: exit %d: %s", code, errOut)
	}
	var snap struct {
		Totals map[string]float64
		Total  float64
		Paths  []struct {
			Path   string
			Total  float64
			Counts map[string]float64
		}
	}
	if err := json.Unmarshal([]byte(out), &snap); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, out)
	}
	want := map[string]float64{"create": 3, "close_write": 6, "modify": 4, "attrib": 1, "moved_from": 1, "moved_to": 1, "delete": 1}
	for k, n := range want {
		if snap.Totals[k] != n {
			t.Errorf("total %s = %v, want %v (all: %v)", k, snap.Totals[k], n, snap.Totals)
		}
	}
	if snap.Total != 17 {
		t.Errorf("total = %v, want 17", snap.Total)
	}
	if len(snap.Paths) == 0 || snap.Paths[0].Path != "hot.txt" || snap.Paths[0].Total != 10 ||
		snap.Paths[0].Counts["close_write"] != 5 || snap.Paths[0].Counts["modify"] != 4 {
		t.Errorf("busiest path = %+v, want hot.txt with 10 events (5 close_write, 4 modify)", snap.Paths)
	}

	out, _, code = m.cli(t, "stats", m.Mnt)
	lines := strings.Split(out, "\n")
	if code != 0 || len(lines) < 3 ||
		strings.Join(strings.Fields(lines[0]), " ") != "total create modify attrib close_write moved_from moved_to delete filename" ||
		!strings.HasSuffix(lines[2], filepath.Join(m.Mnt, "hot.txt")) {
		t.Errorf("mirrorfs stats table (exit %d):\n%s", code, out)
	}
}
