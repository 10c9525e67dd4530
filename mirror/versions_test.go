package mirror

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/testkit"
)

func TestParseRetention(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Retention
		err  string
	}{
		{"10", Retention{Count: 10}, ""},
		{"30d", Retention{Age: 30 * 24 * time.Hour}, ""},
		{"12h", Retention{Age: 12 * time.Hour}, ""},
		{"2w", Retention{Age: 14 * 24 * time.Hour}, ""},
		{"10,30d", Retention{Count: 10, Age: 30 * 24 * time.Hour}, ""},
		{" 30d , 10 ", Retention{Count: 10, Age: 30 * 24 * time.Hour}, ""},
		{"0", Retention{}, "must be positive"},
		{"10,20", Retention{}, "given once"},
		{"1d,2d", Retention{}, "given once"},
		{"30x", Retention{}, "neither a count nor an age"},
		{"d", Retention{}, "neither"},
		{"", Retention{}, "empty part"},
	} {
		got, err := ParseRetention(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseRetention(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRetention(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	if s := (Retention{Count: 10, Age: 30 * 24 * time.Hour}).String(); s != "10,30d" {
		t.Errorf("String = %q", s)
	}
}

func TestCheckBackupDir(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{".versions", ".versions", ""},
		{"a/b/", "a/b", ""},
		{"/abs", "", "absolute"},
		{"..", "", "climbs out"},
		{"a/../b", "", "climbs out"},
		{"./", "", "destination itself"},
		{" ", "", "empty"},
	} {
		got, err := CheckBackupDir(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("CheckBackupDir(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CheckBackupDir(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestPastRetention(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	stamp := func(ago time.Duration) string { return now.Add(-ago).Format(stampLayout) + "-b1" }
	s := []string{stamp(72 * time.Hour), stamp(48 * time.Hour), stamp(2 * time.Hour), stamp(time.Hour)} // oldest first
	for _, tt := range []struct {
		r    Retention
		want []string
	}{
		{Retention{Count: 2}, s[:2]},
		{Retention{Count: 10}, nil},
		{Retention{Age: 24 * time.Hour}, s[:2]},
		{Retention{Age: 50 * time.Hour}, s[:1]},
		{Retention{Count: 1, Age: 3 * time.Hour}, s[:2]}, // either keeps: the last two
		{Retention{Count: 3, Age: time.Minute}, s[:1]},   // the count keeps three
	} {
		if got := pastRetention(s, tt.r, now); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v: pruned %v, want %v", tt.r, got, tt.want)
		}
	}
	if _, ok := parseStamp("2026-12-01T11-35-02.123Z-b42"); !ok {
		t.Error("a stamp does not parse")
	}
	for _, bad := range []string{"notes", "2026-12-01", "2026-12-01T11-35-02.123Zx"} {
		if _, ok := parseStamp(bad); ok {
			t.Errorf("parseStamp(%q) accepted", bad)
		}
	}
}

func TestParseListing(t *testing.T) {
	out := "drwxr-xr-x          4,096 2026/12/01 11:38:11 .\n" +
		"-rw-r--r--         12,345 2026/12/01 11:38:12 S1/a file\n" +
		"lrwxrwxrwx              3 2026/12/01 11:38:13 S1/l -> x y\n"
	ls := parseListing([]byte(out))
	if len(ls) != 3 || ls[1].name != "S1/a file" || ls[1].size != 12345 || ls[2].name != "S1/l" || !ls[0].dir {
		t.Fatalf("parsed %+v", ls)
	}
	if ls[1].mtime.Format("2006/01/02 15:04:05") != "2026/12/01 11:38:12" {
		t.Errorf("mtime %v", ls[1].mtime)
	}
}

func TestHoldRecordRoundTrip(t *testing.T) {
	recs := []record{
		{kind: recHold, path: "d/f", seq: 1764588902123, msg: "why"},
		{kind: recHold, path: "d", recursive: true},
		{kind: recHold, path: "d/f", attempts: 1},
	}
	var b []byte
	for i := range recs {
		b = appendRecord(b, &recs[i])
	}
	var h heldReplay
	for i, want := range recs {
		var got record
		n, err := decodeRecord(b, &got)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("record %d: got %+v, %v; want %+v", i, got, err, want)
		}
		h.apply(&got)
		b = b[n:]
	}
	if len(h.paths) != 1 || !h.paths["d"] || h.reason != "why" {
		t.Errorf("replayed %+v", h)
	}
}

// TestVersionsLocal: overwriting and deleting keep the old content in a
// dated directory per batch; Versions lists them; keep-versions prunes.
func TestVersionsLocal(t *testing.T) {
	dst := t.TempDir()
	h := newHarness(t, Destination{Kind: DestLocal, LocalDir: dst}, dst, true, func(c *Config) {
		c.InitialSync = false
		c.BackupDir = ".versions"
	})
	h.write("f", "one")
	h.mustSync()
	for _, v := range []string{"two!", "three!!", "four!!!!"} { // sizes differ: rsync's quick check sees every change
		h.write("f", v)
		h.mustSync()
	}
	h.removeAll("f")
	h.mustSync()
	ctx := context.Background()
	vs, err := h.eng.Versions(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 4 {
		t.Fatalf("versions = %+v, want 4", vs)
	}
	for i, want := range []string{"four!!!!", "three!!", "two!", "one"} {
		got, err := os.ReadFile(filepath.Join(dst, ".versions", vs[i].Stamp, "f"))
		if err != nil || string(got) != want || vs[i].Size != int64(len(want)) {
			t.Errorf("version %d (%s): %q, %v, size %d; want %q", i, vs[i].Stamp, got, err, vs[i].Size, want)
		}
	}
	h.eng.mu.Lock()
	h.eng.cfg.KeepVersions = Retention{Count: 2}
	h.eng.mu.Unlock()
	n, err := h.eng.pruneVersions(ctx)
	if err != nil || n != 2 {
		t.Fatalf("prune = %d, %v; want 2", n, err)
	}
	if vs, _ = h.eng.Versions(ctx, "f"); len(vs) != 2 {
		t.Fatalf("after pruning to 2: %+v", vs)
	}
	// A full sync leaves the version tree alone and does not copy it back.
	if err := h.eng.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if n := testkit.Entries(t, filepath.Join(dst, ".versions")); n != 2 {
		t.Fatalf("after a full sync %d version directories, want 2", n)
	}
}

func TestVersionArgs(t *testing.T) {
	e := &Engine{cfg: Config{Dest: Destination{Kind: DestLocal, LocalDir: "/d"}, BackupDir: "old/v*s", Timeout: time.Second}}
	for _, tt := range []struct {
		mode  argMode
		stamp string
		want  []string
		not   []string
	}{
		{modeList, "S1", []string{"--filter=- /old/v\\*s/", "--filter=P /old/", "--backup", "--backup-dir=old/v*s/S1"}, nil},
		{modeFull, "S2", []string{"--filter=- /old/v\\*s/", "--backup-dir=old/v*s/S2"}, nil},
		{modeRoot, "S3", []string{"--filter=- /old/v\\*s/"}, []string{"--backup"}},
		{modeProbe, "", nil, []string{"--backup", "--filter=- /old/v\\*s/"}},
	} {
		a := e.argsFor(tt.mode, tt.stamp)
		for _, w := range tt.want {
			if !slices.Contains(a, w) {
				t.Errorf("mode %d: %q lacks %q", tt.mode, a, w)
			}
		}
		for _, w := range tt.not {
			if slices.Contains(a, w) {
				t.Errorf("mode %d: %q has %q", tt.mode, a, w)
			}
		}
		if tt.mode != modeProbe && a[len(a)-1] != "/d/" {
			t.Errorf("mode %d: the destination is not last: %q", tt.mode, a)
		}
	}
}
