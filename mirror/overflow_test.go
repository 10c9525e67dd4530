package mirror

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

func TestQueueOverflowFoldsIntoDirectories(t *testing.T) {
	tests := []struct {
		name     string
		limit    int
		events   []change.Change
		want     []string
		wantOwed bool
	}{
		{
			name:  "under the limit nothing folds",
			limit: 3,
			events: []change.Change{
				{Op: change.OpWrite, Path: "d/a"}, {Op: change.OpWrite, Path: "d/b"}, {Op: change.OpWrite, Path: "e/c"},
			},
			want: []string{"d/a", "d/b", "e/c"},
		},
		{
			name:  "a sibling folds the directory",
			limit: 3,
			events: []change.Change{
				{Op: change.OpWrite, Path: "d/a"}, {Op: change.OpWrite, Path: "d/b"}, {Op: change.OpWrite, Path: "e/c"},
				{Op: change.OpWrite, Path: "d/x"},
			},
			want: []string{"d:r", "e/c"},
		},
		{
			name:  "the nearest directory with entries below, not the parent",
			limit: 2,
			events: []change.Change{
				{Op: change.OpWrite, Path: "a/b/one"}, {Op: change.OpWrite, Path: "top"},
				{Op: change.OpWrite, Path: "a/c/two"},
			},
			want: []string{"a:r", "top"},
		},
		{
			name:  "an existing directory entry turns recursive",
			limit: 2,
			events: []change.Change{
				{Op: change.OpSetattr, Path: "d"}, {Op: change.OpWrite, Path: "x/y"},
				{Op: change.OpWrite, Path: "d/new"},
			},
			want: []string{"d:r", "x/y"},
		},
		{
			name:  "a top-level name is owed to a full sync",
			limit: 2,
			events: []change.Change{
				{Op: change.OpWrite, Path: "a"}, {Op: change.OpWrite, Path: "b"},
				{Op: change.OpCreate, Path: "c"}, {Op: change.OpUnlink, Path: "c"},
			},
			want:     []string{"a", "b"},
			wantOwed: true,
		},
		{
			name:  "nothing related: a full sync",
			limit: 2,
			events: []change.Change{
				{Op: change.OpWrite, Path: "a/x"}, {Op: change.OpWrite, Path: "b/y"},
				{Op: change.OpWrite, Path: "c/d/z"},
			},
			want:     []string{"a/x", "b/y"},
			wantOwed: true,
		},
		{
			name:  "changes inside a folded directory add nothing",
			limit: 2,
			events: []change.Change{
				{Op: change.OpWrite, Path: "d/a"}, {Op: change.OpWrite, Path: "d/b"}, {Op: change.OpWrite, Path: "d/c"},
				{Op: change.OpWrite, Path: "d/e"}, {Op: change.OpWrite, Path: "z/1"}, {Op: change.OpUnlink, Path: "d/a"},
			},
			want: []string{"d:r", "z/1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue()
			q.limit = tt.limit
			for i, ev := range tt.events {
				q.add(ev, uint64(i+1), t0)
			}
			if got := snapshot(q); !slices.Equal(got, tt.want) {
				t.Errorf("entries %v, want %v", got, tt.want)
			}
			if owed := q.overflowSeq != 0; owed != tt.wantOwed {
				t.Errorf("full sync owed %v, want %v", owed, tt.wantOwed)
			}
			if q.tree.Len() > tt.limit {
				t.Errorf("%d entries over the limit of %d", q.tree.Len(), tt.limit)
			}
			checkLists(t, q)
		})
	}
}

// The bound holds for any mix: a seeded run of creates in many directories.
func TestQueueOverflowStaysBounded(t *testing.T) {
	q := newQueue()
	q.limit = 100
	seq := uint64(0)
	for d := range 50 {
		for f := range 40 {
			seq++
			q.add(change.Change{Op: change.OpCreate, Path: fmt.Sprintf("d%02d/s%d/f%03d", d, f%3, f)}, seq, t0)
			if q.tree.Len() > q.limit {
				t.Fatalf("after %d events: %d entries, limit %d", seq, q.tree.Len(), q.limit)
			}
		}
	}
	checkLists(t, q)
}

// TestEngineOverflowConverges: past MaxPending, folded directories and the
// owed full sync still ship every change, barriers wait for them, and the
// debt survives a restart whose journal no longer lists the changes.
func TestEngineOverflowConverges(t *testing.T) {
	dst := t.TempDir()
	d, _ := ParseDestination(dst)
	state := filepath.Join(t.TempDir(), "state")
	src := t.TempDir()
	h := &harness{t: t, src: src, dst: dst, logs: &logBuf{}}
	requireRsync(t)
	h.init(d, false, func(c *Config) { c.StateDir, c.MaxPending = state, 10 })
	for i := range 4 {
		h.mkdir(fmt.Sprintf("d%d", i))
		for j := range 8 {
			h.write(fmt.Sprintf("d%d/f%d", i, j), "x")
		}
	}
	for i := range 8 {
		h.write(fmt.Sprintf("top%d", i), "t")
	}
	st := h.eng.Status()
	if !st.OverflowFullSync || st.Pending > 10 {
		t.Fatalf("after 48 changes with max-pending 10: pending %d, overflow %v", st.Pending, st.OverflowFullSync)
	}
	if err := h.eng.j.compactNow(); err != nil {
		t.Fatal(err)
	}
	if err := h.eng.Close(); err != nil { // a clean stop that shipped nothing
		t.Fatal(err)
	}

	h2 := &harness{t: t, src: src, dst: dst, logs: &logBuf{}}
	h2.init(d, true, func(c *Config) { c.StateDir, c.MaxPending = state, 10 })
	if st := h2.eng.Status(); st.Recovery.Start != StartClean || !st.OverflowFullSync {
		t.Fatalf("after a clean restart: start %q, overflow %v", st.Recovery.Start, st.OverflowFullSync)
	}
	h2.mustSync()
	compareTrees(t, src, dst, nil)
	if st := h2.eng.Status(); st.OverflowFullSync || st.Pending != 0 {
		t.Errorf("after sync: pending %d, overflow %v", st.Pending, st.OverflowFullSync)
	}
	if !contains(h2.logs.String(), "full sync") && !contains(h2.logs.String(), "reconcile") {
		t.Errorf("no full sync in the log:\n%s", h2.logs.String())
	}
}

// A recursive entry requeued after a failed batch takes back the changes
// below it that arrived while it was in flight: under a long outage they
// would otherwise pile up beside it at every retry.
func TestQueueRequeueRecursiveAbsorbs(t *testing.T) {
	q := newQueue()
	q.add(change.Change{Op: change.OpCreate, Path: "d", Dir: true}, 1, t0)
	q.add(change.Change{Op: change.OpSetattr, Path: "x"}, 2, t0)
	flight := q.take(t0.Add(time.Hour), pick{delay: time.Millisecond, maxDelay: time.Second})
	for i := range 5 {
		q.add(change.Change{Op: change.OpCreate, Path: fmt.Sprintf("d/f%d", i)}, uint64(3+i), t0.Add(time.Minute))
	}
	q.add(change.Change{Op: change.OpWrite, Path: "x"}, 9, t0.Add(time.Minute))
	for _, e := range flight {
		q.requeue(e, nil)
	}
	if got, want := snapshot(q), []string{"d:r", "x"}; !slices.Equal(got, want) {
		t.Errorf("after requeue: %v, want %v", got, want)
	}
	if d := q.get("d"); d.seq != 1 {
		t.Errorf("d keeps its oldest change: seq %d", d.seq)
	}
	checkLists(t, q)
}
