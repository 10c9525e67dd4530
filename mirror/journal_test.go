package mirror

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

func TestRecordRoundTrip(t *testing.T) {
	recs := []record{
		{kind: recHeader},
		{kind: recAdd, seq: 7, kinds: change.Of(change.MovedTo), recursive: true, path: "a/b\nc"},
		{kind: recAck, seq: 1 << 40, path: "x"},
		{kind: recFail, attempts: 3, path: "bad\xff", msg: "Permission denied (13)"},
		{kind: recFull, seq: 99},
		{kind: recClean},
	}
	var b []byte
	for i := range recs {
		b = appendRecord(b, &recs[i])
	}
	for i, want := range recs {
		var got record
		n, err := decodeRecord(b, &got)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if got.kind == recHeader {
			got.path = "" // the header keeps nothing
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("record %d: got %+v, want %+v", i, got, want)
		}
		b = b[n:]
	}
}

func TestReplay(t *testing.T) {
	log := func(rs ...record) []byte {
		b := appendRecord(nil, &record{kind: recHeader})
		for i := range rs {
			b = appendRecord(b, &rs[i])
		}
		return b
	}
	add := func(seq uint64, p string) record {
		return record{kind: recAdd, seq: seq, kinds: change.Of(change.CloseWrite), path: p}
	}
	ack := func(lim uint64, p string) record { return record{kind: recAck, seq: lim, path: p} }
	tests := []struct {
		name  string
		data  []byte
		want  []string
		clean bool
	}{
		{"empty", nil, nil, false},
		{"adds", log(add(1, "a"), add(2, "b")), []string{"a", "b"}, false},
		{"acked", log(add(1, "a"), add(2, "b"), ack(2, "a")), []string{"b"}, false},
		// A change after the batch was taken outlives its ack.
		{"newer than ack", log(add(1, "a"), add(3, "a"), ack(2, "a")), []string{"a"}, false},
		{"full", log(add(1, "a"), add(2, "b"), add(5, "c"), record{kind: recFull, seq: 4}), []string{"c"}, false},
		{"clean", log(add(1, "a"), record{kind: recClean}), []string{"a"}, true},
		{"clean then more", log(record{kind: recClean}, add(1, "a")), []string{"a"}, false},
		{"torn tail", log(add(1, "a"), add(2, "b"))[:len(log(add(1, "a"), add(2, "b")))-3], []string{"a"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := replayLog(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for p := range rep.paths {
				got = append(got, p)
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tt.want) || rep.clean != tt.clean {
				t.Errorf("pending %q clean %v, want %q clean %v", got, rep.clean, tt.want, tt.clean)
			}
		})
	}
	// A corrupt byte in the middle ends the log there.
	b := log(add(1, "a"), add(2, "b"), add(3, "c"))
	b[len(b)-3] ^= 0xff
	rep, _ := replayLog(b)
	if len(rep.paths) != 2 || !rep.torn {
		t.Errorf("corrupt last record: %d paths, torn %v", len(rep.paths), rep.torn)
	}
}

// journalHarness runs engines over one source and one state directory,
// as successive mirrorfs processes would.
func journalHarness(t *testing.T, dest Destination, dst, stateDir string, src string) *harness {
	requireRsync(t)
	h := &harness{t: t, src: src, dst: dst, logs: &logBuf{}}
	return h.init(dest, false, func(c *Config) { c.StateDir = stateDir })
}

// TestJournalRecovery: changes queued while the destination is down survive
// an unclean stop and a clean one; the next engine ships them first.
func TestJournalRecovery(t *testing.T) {
	d := startDaemon(t)
	state := filepath.Join(t.TempDir(), "state")
	src := t.TempDir()
	pw := passwordFile(t, daemonPass)
	dest := d.dest()
	withPW := func(c *Config) { c.PasswordFile = pw }

	// Run 1: the daemon is down; 200 changes queue up, then the process "crashes".
	d.stop()
	h := journalHarness(t, dest, d.module, state, src)
	withPW(&h.eng.cfg)
	if st := h.eng.Status(); st.Recovery.Start != StartFresh || !st.Journal.Enabled {
		t.Fatalf("first start: recovery %+v journal %+v", st.Recovery, st.Journal)
	}
	h.mkdir("dir")
	for i := range 200 {
		h.write(filepath.Join("dir", "f"+itoa(i)), "x")
	}
	h.write("top", "t")
	h.start()
	waitFor(t, "a failed attempt", func() bool { return h.eng.Status().ConsecutiveFailures > 0 })
	h.stop()
	waitFor(t, "the journal on disk", func() bool { return h.eng.Status().Journal.Syncs > 0 })
	h.eng.j.close(false) // a crash after the last group commit

	// Run 2: recovered, the journal's changes ship before the full sync.
	d.start()
	h2 := journalHarness(t, dest, d.module, state, src)
	withPW(&h2.eng.cfg)
	st := h2.eng.Status()
	if st.Recovery.Start != StartUnclean || st.Recovery.Replayed == 0 || st.Recovery.Reconcile != "waiting" {
		t.Fatalf("after a crash: recovery %+v", st.Recovery)
	}
	if st.Pending == 0 {
		t.Fatal("nothing pending after replay")
	}
	h2.write("after", "a")
	h2.start()
	h2.mustSync()
	compareTrees(t, src, d.module, nil)
	st = h2.eng.Status()
	if st.Recovery.Reconcile != "done" || st.Reconcile.Count != 1 {
		t.Errorf("reconcile after recovery: %+v %+v", st.Recovery, st.Reconcile)
	}
	// Run 2 ends in order with a change still queued (daemon down).
	d.stop()
	h2.write("queued-at-stop", "q")
	h2.stop()
	if err := h2.eng.Close(); err != nil {
		t.Fatal(err)
	}

	// Run 3: clean restart, the queued change is replayed, no reconcile.
	d.start()
	h3 := journalHarness(t, dest, d.module, state, src)
	withPW(&h3.eng.cfg)
	st = h3.eng.Status()
	if st.Recovery.Start != StartClean || st.Recovery.Replayed == 0 || st.Recovery.Reconcile != "" {
		t.Fatalf("after a clean stop: recovery %+v", st.Recovery)
	}
	h3.start()
	h3.mustSync()
	compareTrees(t, src, d.module, nil)
	if st := h3.eng.Status(); st.Reconcile.Count != 0 {
		t.Errorf("a clean restart ran a full sync: %+v", st.Reconcile)
	}
	h3.stop()
	if err := h3.eng.Close(); err != nil {
		t.Fatal(err)
	}
	// Everything shipped: the journal holds nothing pending.
	data, err := os.ReadFile(filepath.Join(state, journalFile))
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := replayLog(data)
	if len(rep.paths) != 0 || !rep.clean {
		t.Errorf("final journal: %d pending, clean %v", len(rep.paths), rep.clean)
	}
}

// TestJournalLocked: two engines cannot share a state directory.
func TestJournalLocked(t *testing.T) {
	state := t.TempDir()
	h := journalHarness(t, Destination{Kind: DestLocal, LocalDir: t.TempDir()}, "", state, t.TempDir())
	defer h.eng.Close()
	f, _ := os.Open(t.TempDir())
	defer f.Close()
	_, err := New(testConfig(func(c *Config) {
		c.Source, c.Dest, c.StateDir = f, Destination{Kind: DestLocal, LocalDir: t.TempDir()}, state
	}))
	if err == nil || !contains(err.Error(), "in use by another mirrorfs") {
		t.Fatalf("second engine on the same state dir: %v", err)
	}
}

// TestJournalCompaction: rewriting keeps exactly the pending set.
func TestJournalCompaction(t *testing.T) {
	state := t.TempDir()
	dst := t.TempDir()
	h := journalHarness(t, Destination{Kind: DestLocal, LocalDir: dst}, dst, state, t.TempDir())
	for i := range 50 {
		h.write("f"+itoa(i), "x")
	}
	h.mustSync()
	h.write("pending", "p")
	if err := h.eng.j.compactNow(); err != nil {
		t.Fatal(err)
	}
	h.write("after-compaction", "a")
	waitFor(t, "group commit", func() bool {
		data, _ := os.ReadFile(filepath.Join(state, journalFile))
		rep, _ := replayLog(data)
		return len(rep.paths) == 2
	})
	data, _ := os.ReadFile(filepath.Join(state, journalFile))
	rep, _ := replayLog(data)
	if rep.paths["pending"] == nil || rep.paths["after-compaction"] == nil {
		t.Errorf("compacted journal holds %v", rep.paths)
	}
	h.eng.Close()
}

// TestReconcileOnDemand: a full sync repairs changes that bypassed the
// engine, and the interval schedules one by itself.
func TestReconcileOnDemand(t *testing.T) {
	dst := t.TempDir()
	h := newHarness(t, Destination{Kind: DestLocal, LocalDir: dst}, dst, true, func(c *Config) {
		c.ReconcileInterval = 300 * time.Millisecond
	})
	h.mustSync()
	mustWrite(t, h.abs("bypass"), "not seen by the engine")
	ctx := t.Context()
	if err := h.eng.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, h.src, dst, nil)
	n := h.eng.Status().Reconcile.Count
	mustWrite(t, h.abs("bypass2"), "also not seen")
	waitFor(t, "a scheduled reconcile", func() bool { return h.eng.Status().Reconcile.Count > n })
	compareTrees(t, h.src, dst, nil)
}

func itoa(i int) string {
	return string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26))
}
