package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/mirror"
)

func TestSampleOf(t *testing.T) {
	now := time.Unix(100, 0)
	base := mirror.Status{Totals: mirror.Totals{ShippedPaths: 10, BytesSent: 1000}, Reconcile: mirror.ReconcileStatus{Count: 1}}
	full := &mirror.FullProgress{Files: 500, Checked: 200, Bytes: 7}
	tests := []struct {
		name string
		st   mirror.Status
		kind waitKind
		want sample
	}{
		{"queue", mirror.Status{Pending: 30, InFlight: 20, Totals: mirror.Totals{ShippedPaths: 15, BytesSent: 1500}}, waitQueue,
			sample{at: now, unit: "changes", left: 50, done: 5, bytes: 500}},
		{"queue with a run under way", mirror.Status{Pending: 30, InFlight: 20, Totals: base.Totals, Shipping: &mirror.FullProgress{Checked: 8, Bytes: 64}}, waitQueue,
			sample{at: now, unit: "changes", left: 42, done: 8, bytes: 64}},
		{"a run that sent everything, not yet settled", mirror.Status{InFlight: 20, Totals: base.Totals, Shipping: &mirror.FullProgress{Checked: 20}}, waitQueue,
			sample{at: now, unit: "changes", left: 1, done: 20}},
		{"full sync for sync --full", mirror.Status{Pending: 3, Reconcile: mirror.ReconcileStatus{Progress: full}}, waitFull,
			sample{at: now, unit: "files", left: 300, done: 200, bytes: 7}},
		{"full sync before its file list is known", mirror.Status{Reconcile: mirror.ReconcileStatus{Progress: &mirror.FullProgress{Transferred: 2, Bytes: 9}}}, waitFull,
			sample{at: now, unit: "files", phase: phaseListing, done: 2, bytes: 9}},
		{"full sync not started", mirror.Status{Pending: 4, Reconcile: mirror.ReconcileStatus{Count: 1}}, waitFull,
			sample{at: now, unit: "files", phase: phaseWaiting, left: 4}},
		{"full sync over", mirror.Status{Totals: mirror.Totals{BytesSent: 3000}, Reconcile: mirror.ReconcileStatus{Count: 2}}, waitFull,
			sample{at: now, unit: "files", bytes: 2000}},
		{"full sync not waited for", mirror.Status{Pending: 3, Totals: base.Totals, Reconcile: mirror.ReconcileStatus{Progress: full}}, waitQueue,
			sample{at: now, unit: "changes", left: 3}},
		{"initial sync holds a barrier", mirror.Status{Pending: 3, InitialSync: mirror.InitialState{Progress: full}}, waitQueue,
			sample{at: now, unit: "files", left: 300, done: 200, bytes: 7}},
	}
	for _, tt := range tests {
		if got := sampleOf(tt.st, base, tt.kind, now); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	at := time.Unix(0, 0)
	m := &rateMeter{}
	m.add(sample{at: at, unit: "changes", left: 20000})
	rate := m.add(sample{at: at.Add(2 * time.Second), unit: "changes", left: 12345, done: 6800, bytes: 1288490189})
	got := progressLine(sample{unit: "changes", left: 12345, bytes: 1288490189}, rate)
	if want := "12,345 changes left, 1.2 GiB sent, 3,400/s, ETA 4s"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if got := progressLine(sample{unit: "files", phase: phaseListing, done: 3, bytes: 2048}, 0); got != "full sync: checking the tree, 3 files sent (2.0 KiB)" {
		t.Errorf("before the file list is known: %q", got)
	}
	if got := progressLine(sample{unit: "files", phase: phaseWaiting, left: 12}, 0); got != "full sync: not started yet, 12 changes queued" {
		t.Errorf("before the full sync starts: %q", got)
	}
	if got := progressLine(sample{unit: "files", left: 5}, 0); got != "5 files left, 0 B sent" {
		t.Errorf("without a rate: %q", got)
	}
}

// Off a terminal: nothing for a short wait, then a line every plainEvery,
// and the end once something was printed.
func TestPlainView(t *testing.T) {
	start := time.Unix(0, 0)
	var b bytes.Buffer
	v := &plainView{w: &b, start: start}
	for _, ms := range []int{200, 400, 800} {
		v.draw(sample{at: start.Add(time.Duration(ms) * time.Millisecond), unit: "changes", left: 9}, 0)
	}
	v.finish(&sample{unit: "changes"}, 0)
	if b.Len() != 0 {
		t.Errorf("a wait under %v printed %q", plainFirst, b.String())
	}
	for _, ms := range []int{1000, 1200, 2800, 3000, 3400} {
		v.draw(sample{at: start.Add(time.Duration(ms) * time.Millisecond), unit: "changes", left: int64(ms)}, 0)
	}
	v.finish(&sample{unit: "changes"}, 0)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := []string{"1,000 changes left, 0 B sent", "3,000 changes left, 0 B sent", "0 changes left, 0 B sent"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q", lines, want)
	}
}

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -20000: "-20,000"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
}

// The bar shows each count; once it reached its end (and cleared itself),
// changes that come after start a new one.
func TestBarView(t *testing.T) {
	var b bytes.Buffer
	v := &barView{w: &b}
	start := time.Unix(0, 0)
	for _, s := range []sample{{left: 10}, {left: 4, done: 6}, {left: 1, done: 10}, {done: 10}, {left: 5, done: 10}} {
		s.at, s.unit = start, "changes"
		v.draw(s, 0)
	}
	v.finish(&sample{unit: "changes", done: 15}, 0)
	out := b.String()
	at := 0 // each in turn, in the order drawn
	for _, want := range []string{"10 changes left", "(6/10)", "1 change left", "0 changes left", "5 changes left"} {
		i := strings.Index(out[at:], want)
		if i < 0 {
			t.Fatalf("the bar did not show %q (after byte %d):\n%q", want, at, out)
		}
		at += i
	}
	if !v.bar.IsFinished() {
		t.Error("the bar is not finished after finish")
	}
}

func TestStatusProgressAndVerifyText(t *testing.T) {
	now := time.Unix(1000, 0)
	ago := func(d time.Duration) *time.Time { x := now.Add(-d); return &x }
	var b bytes.Buffer
	printRunProgress(&b, mirror.Status{
		InitialSync: mirror.InitialState{Progress: &mirror.FullProgress{Started: *ago(time.Minute), Files: 100000, Checked: 12345, Transferred: 12000, Bytes: 3 << 20}},
		Shipping:    &mirror.FullProgress{Started: *ago(time.Second)},
	}, now)
	want := "  progress\tinitial sync: 12,345 of 100,000 files checked, 12,000 sent (3.0 MiB), for 1m0s\n" +
		"  progress\tshipping: building the file list, 0 sent (0 B), for 1s\n"
	if b.String() != want {
		t.Errorf("run progress:\n%q\nwant\n%q", b.String(), want)
	}
	next := now.Add(time.Hour)
	for _, tt := range []struct {
		v    mirror.VerifyStatus
		want string
	}{
		{mirror.VerifyStatus{}, ""},
		{mirror.VerifyStatus{Running: true}, "  verify\trunning\n"},
		{mirror.VerifyStatus{Last: ago(time.Minute), Next: &next}, "  verify\tequal (1m0s ago); next in 1h0m0s\n"},
		{mirror.VerifyStatus{Last: ago(time.Minute), Differences: 4, Paths: []string{"a", "b\nc", "d", "e"}},
			"  verify\t4 difference(s) 1m0s ago: a, \"b\\nc\", d, ...\n"},
	} {
		b.Reset()
		printVerifyStatus(&b, tt.v, now)
		if b.String() != tt.want {
			t.Errorf("%+v:\n%q\nwant\n%q", tt.v, b.String(), tt.want)
		}
	}
}
