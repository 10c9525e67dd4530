package metrics

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	promdto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mirrorfs/mirrorfs/mirror"
)

func fixedStatus() mirror.Status {
	last := time.Unix(1700000000, 500_000_000)
	return mirror.Status{
		Name: "backup", Dest: "rsync://127.0.0.1/mod", Source: "/data",
		Pending: 7, InFlight: 2, OldestPendingAgeSeconds: 3.5, ConsecutiveFailures: 0,
		LastSuccess: &last,
		Totals:      mirror.Totals{Events: 40, Batches: 5, ShippedPaths: 30, BytesSent: 12345, Retries: 1, Failures: 2},
		StuckCount:  3,
		InitialSync: mirror.InitialState{Enabled: true, Done: true},
		Reconcile:   mirror.ReconcileStatus{Pending: true, Count: 4, Owed: []mirror.OwedSync{{Reason: "interval"}}},
		Held:        mirror.HeldStatus{Count: 9},
		Verify:      mirror.VerifyStatus{Differences: 6},
		Journal:     mirror.JournalStatus{Bytes: 4096},
	}
}

func TestCollectorValues(t *testing.T) {
	st := fixedStatus()
	c := newCollector("/mnt/a", func() []mirror.Status { return []mirror.Status{st} })
	tests := []struct {
		name string
		want float64
	}{
		{"mirrorfs_up", 1},
		{"mirrorfs_pending_changes", 7},
		{"mirrorfs_oldest_pending_age_seconds", 3.5},
		{"mirrorfs_in_flight_changes", 2},
		{"mirrorfs_batches_total", 5},
		{"mirrorfs_shipped_paths_total", 30},
		{"mirrorfs_bytes_sent_total", 12345},
		{"mirrorfs_retries_total", 1},
		{"mirrorfs_failures_total", 2},
		{"mirrorfs_stuck_paths", 3},
		{"mirrorfs_last_success_timestamp_seconds", 1700000000.5},
		{"mirrorfs_initial_sync_done", 1},
		{"mirrorfs_reconcile_pending", 1},
		{"mirrorfs_reconcile_running", 0},
		{"mirrorfs_reconcile_owed", 1},
		{"mirrorfs_reconciles_total", 4},
		{"mirrorfs_held_deletes", 9},
		{"mirrorfs_verify_differences", 6},
		{"mirrorfs_journal_bytes", 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := WriteText(&out, "/mnt/a", []mirror.Status{st}); err != nil {
				t.Fatal(err)
			}
			fams := parse(t, out.String())
			f, ok := fams[tt.name]
			if !ok {
				t.Fatalf("%s missing from\n%s", tt.name, out.String())
			}
			m := f.GetMetric()[0]
			var got float64
			switch {
			case m.GetCounter() != nil:
				got = m.GetCounter().GetValue()
			default:
				got = m.GetGauge().GetValue()
			}
			if got != tt.want {
				t.Errorf("%s = %v, want %v", tt.name, got, tt.want)
			}
			lab := map[string]string{}
			for _, l := range m.GetLabel() {
				lab[l.GetName()] = l.GetValue()
			}
			if lab["dest"] != "backup" || lab["mount"] != "/mnt/a" {
				t.Errorf("labels %v, want dest=backup mount=/mnt/a", lab)
			}
		})
	}
	// No verify timestamp yet; one info series.
	if n := testutil.CollectAndCount(c); n != len(metrics) {
		t.Errorf("%d series, want %d", n, len(metrics))
	}
}

func TestCollectorTypesAndLint(t *testing.T) {
	st := fixedStatus()
	c := newCollector("/mnt/a", func() []mirror.Status { return []mirror.Status{st} })
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
	for _, m := range metrics {
		if !strings.HasPrefix(m.name, "mirrorfs_") {
			t.Errorf("%s: not prefixed mirrorfs_", m.name)
		}
		if strings.HasSuffix(m.name, "_total") != (m.kind == prometheus.CounterValue) {
			t.Errorf("%s: counters and only counters end in _total", m.name)
		}
	}
}

func TestCollectorSeveralDestinationsAndDown(t *testing.T) {
	a, b := fixedStatus(), fixedStatus()
	b.Name, b.ConsecutiveFailures, b.LastSuccess = "offsite", 3, nil
	var out bytes.Buffer
	if err := WriteText(&out, "/mnt/a", []mirror.Status{a, b}); err != nil {
		t.Fatal(err)
	}
	fams := parse(t, out.String())
	up := map[string]float64{}
	for _, m := range fams["mirrorfs_up"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "dest" {
				up[l.GetValue()] = m.GetGauge().GetValue()
			}
		}
	}
	if up["backup"] != 1 || up["offsite"] != 0 {
		t.Errorf("mirrorfs_up = %v, want backup 1, offsite 0", up)
	}
	if n := len(fams["mirrorfs_last_success_timestamp_seconds"].GetMetric()); n != 1 {
		t.Errorf("%d last-success series, want 1 (none for a destination that never succeeded)", n)
	}
}

func parse(t *testing.T, text string) map[string]*promdto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	return fams
}
