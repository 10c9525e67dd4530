package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/config"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"github.com/mirrorfs/mirrorfs/mirror"
)

func TestAggregateStatus(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	a := mirror.Status{Name: "a", Dest: "rsync://a/m", State: mirror.StateIdle, LastSuccess: at(10 * time.Second),
		Totals: mirror.Totals{Events: 7, ShippedPaths: 7}, Stuck: []mirror.StuckPath{}}
	b := mirror.Status{Name: "b", Dest: "rsync://b/m", State: mirror.StateRetrying, Pending: 5, InFlight: 1,
		OldestPendingAgeSeconds: 30, OldestPending: at(-30 * time.Second), LastSuccess: at(time.Second),
		LastError: "connection refused", LastErrorTime: at(20 * time.Second), ConsecutiveFailures: 3,
		Totals: mirror.Totals{Events: 7, ShippedPaths: 2, Failures: 3}, StuckCount: 1,
		Stuck: []mirror.StuckPath{{Path: "x", Error: "too long"}}}
	tests := []struct {
		name  string
		in    []mirror.Status
		check func(mirror.Status) string
	}{
		{"one destination is itself", []mirror.Status{b}, func(s mirror.Status) string {
			if s.Name != "b" || s.LastError != "connection refused" || s.Dest != "rsync://b/m" {
				return "changed"
			}
			return ""
		}},
		{"two: sums and worst", []mirror.Status{a, b}, func(s mirror.Status) string {
			switch {
			case s.State != mirror.StateRetrying:
				return "state " + s.State
			case s.Pending != 5 || s.InFlight != 1 || s.StuckCount != 1 || len(s.Stuck) != 1:
				return "pending, in flight or stuck not summed"
			case s.OldestPendingAgeSeconds != 30 || s.ConsecutiveFailures != 3:
				return "lag or failures not the worst"
			case s.LastSuccess == nil || !s.LastSuccess.Equal(*b.LastSuccess):
				return "last success is not the oldest"
			case s.LastError != "b: connection refused" || s.Stuck[0].Error != "b: too long":
				return "errors not named by destination: " + s.LastError
			case s.Totals.Events != 7 || s.Totals.ShippedPaths != 9 || s.Totals.Failures != 3:
				return "totals"
			case s.Dest != "rsync://a/m, rsync://b/m" || s.Name != "":
				return "dest " + s.Dest
			}
			return ""
		}},
		{"one never succeeded: no last success", []mirror.Status{a, {Name: "c", State: mirror.StateIdle}}, func(s mirror.Status) string {
			if s.LastSuccess != nil {
				return "last success set"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := tt.check(aggregateStatus(tt.in)); msg != "" {
				t.Errorf("%s: %+v", msg, aggregateStatus(tt.in))
			}
		})
	}
}

func testDests(t *testing.T, dests ...string) []*destination {
	t.Helper()
	var ds []*destination
	for _, s := range dests {
		name, dest, _ := strings.Cut(s, "=")
		if dest == "" {
			name, dest = "", name
		}
		pd, err := mirror.ParseDestination(dest)
		if err != nil {
			t.Fatal(err)
		}
		c := mirror.Config{Dest: pd, Name: name}
		ds = append(ds, &destination{name: c.DestName(), cfg: c, dc: config.DestConfig{Name: name, Dest: dest}})
	}
	return ds
}

func TestPick(t *testing.T) {
	ds := testDests(t, "offsite=h::m", "near::m/p")
	tests := []struct {
		name, want, err string
	}{
		{"", "offsite,rsync://near/m/p", ""},
		{"offsite", "offsite", ""},
		{"near::m/p", "rsync://near/m/p", ""},
		{"rsync://near/m/p", "rsync://near/m/p", ""},
		{"h::m", "offsite", ""},
		{"nosuch", "", `no destination "nosuch" on this mount: its destinations are offsite, rsync://near/m/p`},
	}
	for _, tt := range tests {
		got, err := pick(ds, tt.name)
		var names []string
		for _, d := range got {
			names = append(names, d.name)
		}
		if strings.Join(names, ",") != tt.want || (err == nil) != (tt.err == "") || err != nil && err.Error() != tt.err {
			t.Errorf("pick(%q) = %v, %v; want %s, %q", tt.name, names, err, tt.want, tt.err)
		}
	}
}

// TestAdoptLegacyJournal: a journal of the one-destination layout goes to
// the only destination, or to the one it names; otherwise it is set aside
// and every destination runs an initial sync.
func TestAdoptLegacyJournal(t *testing.T) {
	tests := []struct {
		name    string
		dests   []string
		named   string // content of the old directory's dest file
		adopter int    // index of the destination that gets it; -1: none
	}{
		{"one destination", []string{"h::a"}, "", 0},
		{"several, none named", []string{"h::a", "h::b"}, "", -1},
		{"several, one named", []string{"h::a", "h::b"}, "rsync://h/b\n", 1},
		{"several, another named", []string{"h::a", "h::b"}, "rsync://h/c\n", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ds := testDests(t, tt.dests...)
			for _, d := range ds {
				d.cfg.StateDir = filepath.Join(dir, destDirName(d.cfg))
				if err := os.Mkdir(d.cfg.StateDir, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(os.WriteFile(filepath.Join(dir, legacyJournal), []byte("old"), 0o600))
			if tt.named != "" {
				must(os.WriteFile(filepath.Join(dir, "dest"), []byte(tt.named), 0o600))
			}
			var logBuf bytes.Buffer
			must(adoptLegacyJournal(dir, ds, slog.New(slog.NewTextHandler(&logBuf, nil))))
			if _, err := os.Stat(filepath.Join(dir, legacyJournal)); err == nil {
				t.Error("the old journal is still in place")
			}
			for i, d := range ds {
				data, err := os.ReadFile(filepath.Join(d.cfg.StateDir, legacyJournal))
				if got := err == nil && string(data) == "old"; got != (i == tt.adopter) {
					t.Errorf("destination %d has the old journal: %v", i, got)
				}
				if tt.adopter < 0 && !d.cfg.InitialSync {
					t.Errorf("destination %d: no initial sync after an unadopted journal", i)
				}
			}
			if tt.adopter < 0 {
				aside, _ := filepath.Glob(filepath.Join(dir, "journal.unadopted-*"))
				if len(aside) != 1 || !strings.Contains(logBuf.String(), "initial sync") {
					t.Errorf("unadopted journal: kept as %v, log %q", aside, logBuf.String())
				}
			}
		})
	}
}

func TestFlushError(t *testing.T) {
	in := &instance{cfg: config.Config{StateDir: "/state"}, dests: testDests(t, "a=h::a", "b=h::b")}
	tests := []struct {
		name string
		rep  shutdownReport
		code int
		want []string
		not  string
	}{
		{"all flushed", shutdownReport{Destinations: []destFlush{{Name: "a"}, {Name: "b"}}}, 0, nil, ""},
		{"one not flushed", shutdownReport{Pending: 4, Destinations: []destFlush{{Name: "a"}, {Name: "b", Pending: 4, Error: "flush: context deadline exceeded"}}},
			exitcode.Flush, []string{"b (4 change(s) not shipped", "journal keeps what it owes", "ships that to it alone"}, "a ("},
		{"stuck on one", shutdownReport{Stuck: []string{"x: too long"}, Destinations: []destFlush{{Name: "a", Stuck: []string{"x: too long"}}, {Name: "b"}}},
			exitcode.Sync, []string{`a: ["x: too long"]`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := in.flushError(tt.rep)
			var out bytes.Buffer
			if code := report(&out, err); code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("%q does not contain %q", out.String(), w)
				}
			}
			if tt.not != "" && strings.Contains(out.String(), tt.not) {
				t.Errorf("%q names %q", out.String(), tt.not)
			}
		})
	}
}
