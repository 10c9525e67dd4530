package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mirrorfs/mirrorfs/mirror"
)

// metric is one series per destination, read from its status.
type metric struct {
	name  string
	help  string
	kind  prometheus.ValueType
	value func(*mirror.Status) (float64, bool) // false: no sample (e.g. never happened)
}

func gauge(name, help string, f func(*mirror.Status) float64) metric {
	return metric{name, help, prometheus.GaugeValue, always(f)}
}

func counter(name, help string, f func(*mirror.Status) float64) metric {
	return metric{name, help, prometheus.CounterValue, always(f)}
}

func always(f func(*mirror.Status) float64) func(*mirror.Status) (float64, bool) {
	return func(s *mirror.Status) (float64, bool) { return f(s), true }
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// metrics is the one list of mirrorfs's series; the endpoint and
// `status --prometheus` both write it.
var metrics = []metric{
	gauge("mirrorfs_up", "1 when the last rsync run to the destination succeeded (no failure since the last success), 0 while it is failing.",
		func(s *mirror.Status) float64 { return b2f(s.ConsecutiveFailures == 0) }),
	gauge("mirrorfs_pending_changes", "Changed paths queued, not yet shipped.",
		func(s *mirror.Status) float64 { return float64(s.Pending) }),
	gauge("mirrorfs_oldest_pending_age_seconds", "Age of the oldest queued change: the mirror's lag (0 when nothing is pending).",
		func(s *mirror.Status) float64 {
			if s.Pending == 0 {
				return 0
			}
			return s.OldestPendingAgeSeconds
		}),
	gauge("mirrorfs_in_flight_changes", "Changed paths in the rsync run under way.",
		func(s *mirror.Status) float64 { return float64(s.InFlight) }),
	counter("mirrorfs_events_total", "Changes reported by the filesystem since start.",
		func(s *mirror.Status) float64 { return float64(s.Totals.Events) }),
	counter("mirrorfs_batches_total", "Batches shipped since start.",
		func(s *mirror.Status) float64 { return float64(s.Totals.Batches) }),
	counter("mirrorfs_shipped_paths_total", "Paths put on the destination since start.",
		func(s *mirror.Status) float64 { return float64(s.Totals.ShippedPaths) }),
	counter("mirrorfs_bytes_sent_total", "Bytes rsync sent to the destination since start.",
		func(s *mirror.Status) float64 { return float64(s.Totals.BytesSent) }),
	counter("mirrorfs_retries_total", "Batches sent back to the queue after a failed run.",
		func(s *mirror.Status) float64 { return float64(s.Totals.Retries) }),
	counter("mirrorfs_failures_total", "rsync runs that failed as a whole.",
		func(s *mirror.Status) float64 { return float64(s.Totals.Failures) }),
	gauge("mirrorfs_consecutive_failures", "Whole-run failures since the last success.",
		func(s *mirror.Status) float64 { return float64(s.ConsecutiveFailures) }),
	gauge("mirrorfs_stuck_paths", "Paths not on the destination that waiting will not fix (failing on their own, or too long).",
		func(s *mirror.Status) float64 { return float64(s.StuckCount) }),
	{"mirrorfs_last_success_timestamp_seconds", "Unix time of the last successful rsync run (absent before the first).", prometheus.GaugeValue,
		func(s *mirror.Status) (float64, bool) { return unixTime(s.LastSuccess) }},
	gauge("mirrorfs_initial_sync_done", "1 once the start-up full sync has finished (or is off: then 0).",
		func(s *mirror.Status) float64 { return b2f(s.InitialSync.Done) }),
	gauge("mirrorfs_reconcile_running", "1 while a full sync runs.",
		func(s *mirror.Status) float64 { return b2f(s.Reconcile.Running) }),
	gauge("mirrorfs_reconcile_pending", "1 while a full sync is owed and not started.",
		func(s *mirror.Status) float64 { return b2f(s.Reconcile.Pending) }),
	gauge("mirrorfs_reconcile_owed", "Full syncs owed or running, one per reason.",
		func(s *mirror.Status) float64 { return float64(len(s.Reconcile.Owed)) }),
	counter("mirrorfs_reconciles_total", "Full syncs finished since start, the initial one included.",
		func(s *mirror.Status) float64 { return float64(s.Reconcile.Count) }),
	gauge("mirrorfs_overflow", "1 while more than max-pending changes are queued (directories ship recursively, a full sync is owed).",
		func(s *mirror.Status) float64 { return b2f(s.OverflowFullSync) }),
	gauge("mirrorfs_held_deletes", "Deletes held back by hold-deletes until `mirrorfs release`.",
		func(s *mirror.Status) float64 { return float64(s.Held.Count) }),
	gauge("mirrorfs_verify_running", "1 while a verify runs.",
		func(s *mirror.Status) float64 { return b2f(s.Verify.Running) }),
	gauge("mirrorfs_verify_differences", "Differences the last verify found between source and destination.",
		func(s *mirror.Status) float64 { return float64(s.Verify.Differences) }),
	{"mirrorfs_verify_last_timestamp_seconds", "Unix time the last verify ended (absent before the first).", prometheus.GaugeValue,
		func(s *mirror.Status) (float64, bool) { return unixTime(s.Verify.Last) }},
	gauge("mirrorfs_journal_bytes", "Size of the journal of changes not yet on the destination.",
		func(s *mirror.Status) float64 { return float64(s.Journal.Bytes) }),
}

func unixTime(t *time.Time) (float64, bool) {
	if t == nil || t.IsZero() {
		return 0, false
	}
	return float64(t.UnixNano()) / 1e9, true
}

// labels of every series: the destination's name and the mountpoint.
var labels = []string{"dest", "mount"}

// collector reads the snapshot at scrape time, so a scrape costs one
// Status per destination and nothing between scrapes.
type collector struct {
	mount    string
	snapshot func() []mirror.Status
	descs    []*prometheus.Desc
	info     *prometheus.Desc
}

func newCollector(mount string, snapshot func() []mirror.Status) *collector {
	c := &collector{mount: mount, snapshot: snapshot}
	for _, m := range metrics {
		c.descs = append(c.descs, prometheus.NewDesc(m.name, m.help, labels, nil))
	}
	c.info = prometheus.NewDesc("mirrorfs_destination_info", "The destination's address, as status shows it (never a password); always 1.",
		append(labels, "url", "source"), nil)
	return c
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
	ch <- c.info
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.snapshot() {
		name := s.Name
		if name == "" {
			name = s.Dest
		}
		for i, m := range metrics {
			if v, ok := m.value(&s); ok {
				ch <- prometheus.MustNewConstMetric(c.descs[i], m.kind, v, name, c.mount)
			}
		}
		ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, name, c.mount, s.Dest, s.Source)
	}
}
