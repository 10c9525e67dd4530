package mirror

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// snapshot renders the pending entries as "path[:flags]", r = recursive,
// b = born, sorted by path.
func snapshot(q *queue) []string {
	var out []string
	q.tree.Ascend(func(e *entry) bool {
		s := e.path
		f := ""
		if e.recursive {
			f += "r"
		}
		if e.born {
			f += "b"
		}
		if f != "" {
			s += ":" + f
		}
		out = append(out, s)
		return true
	})
	return out
}

func checkLists(t *testing.T, q *queue) {
	t.Helper()
	n := 0
	for e := q.byFirst.head; e != nil; e = e.links[lByFirst].next {
		n++
		if e.place != placeReady {
			t.Fatalf("%q on byFirst has place %d", e.path, e.place)
		}
		if nx := e.links[lByFirst].next; nx != nil && nx.first.Before(e.first) {
			t.Errorf("byFirst out of order: %q (%v) before %q (%v)", e.path, e.first, nx.path, nx.first)
		}
	}
	m := 0
	for e := q.byLast.head; e != nil; e = e.links[lByLast].next {
		m++
		if nx := e.links[lByLast].next; nx != nil && nx.last.Before(e.last) {
			t.Errorf("byLast out of order: %q before %q", e.path, nx.path)
		}
	}
	b := 0
	for e := q.backoff.head; e != nil; e = e.links[lByLast].next {
		b++
	}
	if n != m || n != q.byFirst.n || m != q.byLast.n || n+b != q.tree.Len() || b != q.backoff.n {
		t.Errorf("list sizes disagree: byFirst %d/%d byLast %d/%d backoff %d/%d tree %d", n, q.byFirst.n, m, q.byLast.n, b, q.backoff.n, q.tree.Len())
	}
}

func cr(p string) change.Change    { return change.Change{Op: change.OpCreate, Path: p} }
func mkdir(p string) change.Change { return change.Change{Op: change.OpCreate, Path: p, Dir: true} }
func mod(p string) change.Change   { return change.Change{Op: change.OpWrite, Path: p} }
func attr(p string) change.Change  { return change.Change{Op: change.OpSetattr, Path: p} }
func del(p string) change.Change   { return change.Change{Op: change.OpUnlink, Path: p} }
func rmdir(p string) change.Change { return change.Change{Op: change.OpRmdir, Path: p, Dir: true} }
func mv(a, b string) change.Change { return change.Change{Op: change.OpRename, From: a, Path: b} }
func mvd(a, b string) change.Change {
	return change.Change{Op: change.OpRename, From: a, Path: b, Dir: true}
}
func xchg(a, b string) change.Change {
	return change.Change{Op: change.OpExchange, From: a, Path: b, Dir: true}
}

func TestQueueCoalescing(t *testing.T) {
	long := strings.Repeat("x/", 2100)[:4100]
	tests := []struct {
		name     string
		events   []change.Change
		fullSync bool
		want     []string
		wantLong []string
	}{
		{"many events one entry", []change.Change{cr("a"), mod("a"), attr("a"), mod("a")}, false, []string{"a:b"}, nil},
		{"create then delete ships nothing", []change.Change{cr("a"), mod("a"), del("a")}, false, nil, nil},
		{"modify then delete is a deletion", []change.Change{mod("a"), del("a")}, false, []string{"a"}, nil},
		{"delete then create is not born", []change.Change{del("a"), cr("a"), del("a")}, false, []string{"a"}, nil},
		{"full sync running: nothing is born", []change.Change{cr("a"), del("a")}, true, []string{"a"}, nil},
		{"mkdir covers its contents", []change.Change{mkdir("d"), cr("d/f"), mkdir("d/e"), cr("d/e/g")}, false, []string{"d:rb"}, nil},
		{"mkdir, fill, empty, rmdir ships nothing", []change.Change{mkdir("d"), cr("d/f"), del("d/f"), rmdir("d")}, false, nil, nil},
		{"rename existing file", []change.Change{mod("a"), mv("a", "b")}, false, []string{"a", "b"}, nil},
		{"rename born file", []change.Change{cr("a"), mv("a", "b")}, false, []string{"b"}, nil},
		{"rename over born file keeps nothing of a", []change.Change{cr("b"), mod("a"), mv("a", "b")}, false, []string{"a", "b:b"}, nil},
		{"rename dir drops pending descendants", []change.Change{mod("d/x"), mod("d/y/z"), mod("dz"), mvd("d", "e")}, false, []string{"d", "dz", "e:r"}, nil},
		{"rename dir into a pending tree", []change.Change{mod("e/old"), mvd("d", "e")}, false, []string{"d", "e:r"}, nil},
		{"rmdir drops descendants, not siblings with a common prefix", []change.Change{mod("d/x"), mod("d/y/z"), mod("d-x"), mod("dx"), mod("d.x"), rmdir("d")}, false, []string{"d", "d-x", "d.x", "dx"}, nil},
		{"exchange: both recursive, descendants dropped", []change.Change{mod("a/x"), mod("b/y"), mod("c"), xchg("a", "b")}, false, []string{"a:r", "b:r", "c"}, nil},
		{"root and top level", []change.Change{attr("."), mod("a")}, false, []string{".", "a"}, nil},
		{"events under a pending recursive dir are absorbed", []change.Change{mvd("x", "d"), cr("d/new"), mod("d/new"), del("d/new"), mv("d/a", "top")}, false, []string{"d:r", "top", "x"}, nil},
		{"long path is never queued", []change.Change{cr(long), mod("a")}, false, []string{"a"}, []string{long}},
		{"long path deleted is forgotten", []change.Change{cr(long), del(long)}, false, nil, nil},
		{"rmdir forgets long paths below", []change.Change{cr(long), rmdir("x")}, false, []string{"x"}, nil},
		{"rename long to short", []change.Change{cr(long), mv(long, "s")}, false, []string{"s"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue()
			q.fullSync = tt.fullSync
			for i, ev := range tt.events {
				q.add(ev, uint64(i+1), t0.Add(time.Duration(i)*time.Millisecond))
			}
			if got := snapshot(q); !slices.Equal(got, tt.want) {
				t.Errorf("pending = %q, want %q", got, tt.want)
			}
			var gotLong []string
			for p := range q.long {
				gotLong = append(gotLong, p)
			}
			if !slices.Equal(gotLong, tt.wantLong) {
				t.Errorf("long paths = %d, want %d", len(gotLong), len(tt.wantLong))
			}
			checkLists(t, q)
		})
	}
}

func TestQueueSeqIsOldestEvent(t *testing.T) {
	q := newQueue()
	q.add(mod("d/x"), 1, t0)
	q.add(mod("a"), 2, t0)
	q.add(mod("a"), 3, t0)
	q.add(mvd("d", "e"), 4, t0)
	q.add(mkdir("f"), 5, t0)
	seqs := map[string]uint64{}
	q.tree.Ascend(func(e *entry) bool { seqs[e.path] = e.seq; return true })
	want := map[string]uint64{"a": 2, "d": 1, "e": 4, "f": 5}
	for p, s := range want {
		if seqs[p] != s {
			t.Errorf("seq(%s) = %d, want %d", p, seqs[p], s)
		}
	}
}

func TestQueueBornAgainstFlight(t *testing.T) {
	tests := []struct {
		name   string
		before []change.Change // shipped into flight
		after  []change.Change
		want   []string
	}{
		{"path in flight: create-delete is shipped", []change.Change{mod("a")}, []change.Change{cr("a"), del("a")}, []string{"a"}},
		{"recursive ancestor in flight: rsync may copy the new file", []change.Change{mkdir("d")}, []change.Change{cr("d/f"), del("d/f")}, []string{"d/f"}},
		{"unrelated flight: born", []change.Change{mod("x")}, []change.Change{cr("d/f"), del("d/f")}, nil},
		{"non-recursive parent in flight: born", []change.Change{mod("d")}, []change.Change{cr("d/f"), del("d/f")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue()
			for i, ev := range tt.before {
				q.add(ev, uint64(i+1), t0)
			}
			if got := q.take(t0, pick{urgent: true}); len(got) != len(tt.before) {
				t.Fatalf("took %d, want %d", len(got), len(tt.before))
			}
			for i, ev := range tt.after {
				q.add(ev, uint64(100+i), t0)
			}
			if got := snapshot(q); !slices.Equal(got, tt.want) {
				t.Errorf("pending = %q, want %q", got, tt.want)
			}
		})
	}
}

func paths(es []*entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.path)
	}
	slices.Sort(out)
	return out
}

func TestQueueReady(t *testing.T) {
	const (
		delay    = 200 * time.Millisecond
		maxDelay = 2 * time.Second
	)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	type add struct {
		at int
		ev change.Change
	}
	tests := []struct {
		name   string
		adds   []add
		at     int
		urgent bool
		max    int
		want   []string
	}{
		{"quiet long enough", []add{{0, mod("a")}, {100, mod("b")}}, 250, false, 0, []string{"a"}},
		{"nothing quiet yet", []add{{0, mod("a")}, {100, mod("b")}}, 199, false, 0, nil},
		{"both quiet", []add{{0, mod("a")}, {100, mod("b")}}, 300, false, 0, []string{"a", "b"}},
		{"re-touched entry waits again", []add{{0, mod("a")}, {100, mod("b")}, {150, mod("a")}}, 320, false, 0, []string{"b"}},
		{"busy path ships at max delay", []add{{0, mod("a")}, {500, mod("a")}, {1000, mod("a")}, {1500, mod("a")}, {1900, mod("a")}, {1950, mod("b")}}, 2000, false, 0, []string{"a"}},
		{"busy path before max delay", []add{{0, mod("a")}, {500, mod("a")}, {1000, mod("a")}, {1500, mod("a")}, {1900, mod("a")}}, 1999, false, 0, nil},
		{"urgent ships everything now", []add{{0, mod("a")}, {1, mod("b")}, {2, mod("c")}}, 3, true, 0, []string{"a", "b", "c"}},
		{"max batch", []add{{0, mod("a")}, {1, mod("b")}, {2, mod("c")}}, 3, true, 2, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue()
			for i, a := range tt.adds {
				q.add(a.ev, uint64(i+1), ms(a.at))
			}
			got := q.take(ms(tt.at), pick{delay: delay, maxDelay: maxDelay, urgent: tt.urgent, urgentSeq: 1 << 60, max: tt.max})
			if !slices.Equal(paths(got), tt.want) {
				t.Errorf("took %q, want %q", paths(got), tt.want)
			}
			for _, e := range got {
				if q.flight[e.path] != e || e.place != placeFlight {
					t.Errorf("%q not in flight", e.path)
				}
			}
			checkLists(t, q)
		})
	}
}

func TestQueueNextReady(t *testing.T) {
	q := newQueue()
	p := pick{delay: 200 * time.Millisecond, maxDelay: 2 * time.Second}
	if _, ok := q.nextReady(p); ok {
		t.Fatal("empty queue has a next ready time")
	}
	q.add(mod("a"), 1, t0)
	for i := 1; i <= 10; i++ {
		q.add(mod("a"), uint64(i+1), t0.Add(time.Duration(i)*190*time.Millisecond))
	}
	got, _ := q.nextReady(p)
	if want := t0.Add(2 * time.Second); !got.Equal(want) {
		t.Errorf("next ready %v, want max delay %v", got.Sub(t0), want.Sub(t0))
	}
}

func TestQueueRequeue(t *testing.T) {
	q := newQueue()
	q.add(cr("a"), 1, t0)
	q.add(mod("b"), 2, t0.Add(time.Millisecond))
	flight := q.take(t0.Add(time.Second), pick{delay: time.Millisecond, maxDelay: time.Second})
	if len(flight) != 2 {
		t.Fatalf("took %d", len(flight))
	}
	// Newer changes while in flight become separate pending entries.
	q.add(mod("a"), 3, t0.Add(2*time.Second))
	q.add(mod("c"), 4, t0.Add(2*time.Second))
	if got := snapshot(q); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("pending during flight = %q", got)
	}
	// Whole-batch failure: everything returns, merged, born cleared.
	for _, e := range flight {
		q.requeue(e, nil)
	}
	if got := snapshot(q); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("pending after requeue = %q", got)
	}
	if a := q.get("a"); a.seq != 1 || !a.first.Equal(t0) {
		t.Errorf("merged a: seq %d first %v, want 1 and t0", a.seq, a.first.Sub(t0))
	}
	if len(q.flight) != 0 {
		t.Errorf("flight not empty: %d", len(q.flight))
	}
	checkLists(t, q)

	// Per-path failure: backoff, not taken before retryAt unless a newer sync wants it.
	got := q.take(t0.Add(3*time.Second), pick{urgent: true, urgentSeq: 10, epoch: 1})
	var b *entry
	for _, e := range got {
		if e.path == "b" {
			b = e
		} else {
			q.done(e)
		}
	}
	q.requeue(b, &failure{msg: "boom", now: t0.Add(3 * time.Second), retryAt: t0.Add(time.Hour), epoch: 1})
	if b.place != placeBackoff || b.attempts != 1 || b.lastErr() != "boom" {
		t.Fatalf("b after failure: place %d attempts %d err %q", b.place, b.attempts, b.lastErr())
	}
	checkLists(t, q)
	if got := q.take(t0.Add(4*time.Second), pick{urgent: true, urgentSeq: 10, epoch: 1}); len(got) != 0 {
		t.Errorf("backoff entry taken by the sync it already failed for: %q", paths(got))
	}
	q.add(mod("b"), 11, t0.Add(5*time.Second)) // stays in backoff
	if got := q.take(t0.Add(6*time.Second), pick{delay: 0, maxDelay: 0}); len(got) != 0 {
		t.Errorf("backoff entry taken early: %q", paths(got))
	}
	retried := q.take(t0.Add(7*time.Second), pick{urgent: true, urgentSeq: 10, epoch: 2})
	if !slices.Equal(paths(retried), []string{"b"}) {
		t.Fatalf("new sync epoch did not retry b: %q", paths(retried))
	}
	q.requeue(retried[0], &failure{msg: "boom", now: t0.Add(7 * time.Second), retryAt: t0.Add(8 * time.Second), epoch: 2})
	if got := q.take(t0.Add(8*time.Second), pick{}); !slices.Equal(paths(got), []string{"b"}) || got[0].attempts != 2 {
		t.Errorf("b not retried at retryAt: %q", paths(got))
	}
}

func TestQueueBlocking(t *testing.T) {
	q := newQueue()
	q.add(mod("a"), 1, t0)
	q.add(mod("b"), 2, t0)
	q.add(mod("c"), 5, t0)
	stuck := func(e *entry) bool { return e.attempts > 0 }
	if blocked, _ := q.blocking(2, stuck); !blocked {
		t.Fatal("pending entries do not block")
	}
	got := q.take(t0, pick{urgent: true})
	if blocked, _ := q.blocking(2, stuck); !blocked {
		t.Fatal("in-flight entries do not block")
	}
	for _, e := range got {
		switch e.path {
		case "a":
			q.done(e)
		case "b":
			q.requeue(e, &failure{msg: "x", retryAt: t0.Add(time.Hour)})
		case "c":
			q.requeue(e, nil)
		}
	}
	blocked, st := q.blocking(2, stuck)
	if blocked || len(st) != 1 || st[0].path != "b" {
		t.Errorf("blocking(2) = %v %v, want only b stuck", blocked, paths(st))
	}
	if blocked, _ := q.blocking(5, stuck); !blocked {
		t.Error("c (seq 5) should block a barrier at 5")
	}
}

func TestPlanBatch(t *testing.T) {
	e := func(spec string) *entry {
		p, f, _ := strings.Cut(spec, ":")
		e := &entry{path: p, recursive: strings.Contains(f, "r")}
		if strings.Contains(f, "c") {
			e.ops |= 1 << change.OpCreate
		} else {
			e.ops |= 1 << change.OpWrite
		}
		return e
	}
	tests := []struct {
		name    string
		entries []string
		rec     []string
		list    []string
		covered []string
		root    bool // a last run for the root's own attributes
	}{
		{"new top-level file: root run", []string{"a:c", "d/x"}, nil, []string{"a", "d/x"}, nil, true},
		{"modified top-level file too (temp file and rename touch the root)", []string{"a", "d/x"}, nil, []string{"a", "d/x"}, nil, true},
		{"nested only: no root", []string{"d/x:c", "d/y/z:c"}, nil, []string{"d/x", "d/y/z"}, nil, false},
		{"recursive top-level: root run", []string{"d:rc"}, []string{"d"}, nil, nil, true},
		{"subsumption by prefix, not by string prefix", []string{"d:rc", "d/x", "d/y/z:r", "d-x", "dx/y"}, []string{"d"}, []string{"d-x", "dx/y"}, []string{"d/x", "d/y/z"}, true},
		{"root entry is never listed with others (-d would copy its contents)", []string{".", "a:c"}, nil, []string{"a"}, nil, true},
		{"root alone", []string{"."}, nil, nil, nil, true},
		{"deep recursive", []string{"a/b:r", "a/b/c", "a/bc"}, []string{"a/b"}, []string{"a/bc"}, []string{"a/b/c"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var es []*entry
			for _, s := range tt.entries {
				es = append(es, e(s))
			}
			runs := planBatch(es)
			var rec, list, covered []string
			root := false
			for i, r := range runs {
				if r.root {
					if i != len(runs)-1 || !slices.Equal(r.list, []string{"."}) {
						t.Errorf("root run %d of %d lists %q; want last, listing only \".\"", i, len(runs), r.list)
					}
					root = true
					continue
				}
				if r.recursive {
					if i != 0 {
						t.Error("recursive run must come first")
					}
					rec = r.list
				} else {
					list = r.list
				}
			}
			for _, x := range es {
				if x.coveredBy != nil {
					covered = append(covered, x.path)
				}
			}
			if !slices.Equal(rec, tt.rec) || !slices.Equal(list, tt.list) || !slices.Equal(covered, tt.covered) || root != tt.root {
				t.Errorf("recursive %q list %q covered %q root %v; want %q %q %q %v", rec, list, covered, root, tt.rec, tt.list, tt.covered, tt.root)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	es := []*entry{{path: "a"}, {path: "b", recursive: true}, {path: "b/x"}, {path: "c"}, {path: "d"}}
	a, b := split(es)
	if !slices.Equal(paths(a), []string{"a", "b", "b/x"}) || !slices.Equal(paths(b), []string{"c", "d"}) {
		t.Errorf("split = %q | %q", paths(a), paths(b))
	}
}

// A million pending entries: Add stays cheap and picking ready ones does
// not scan the queue.
func BenchmarkQueueAdd(b *testing.B) {
	q := newQueue()
	for i := 0; b.Loop(); i++ {
		q.add(mod("dir"+string(rune('a'+i%26))+"/file"+strings.Repeat("x", i%7)+string(rune(i))), uint64(i), t0)
	}
}

func TestQueueLeadingEdgeAndWriters(t *testing.T) {
	const (
		delay    = 200 * time.Millisecond
		maxDelay = 2 * time.Second
	)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	writing := func(p string) change.Change { return change.Change{Op: change.OpCreate, Path: p, Writing: true} }
	closed := func(p string) change.Change { return change.Change{Op: change.OpWrite, Path: p} }
	type add struct {
		at int
		ev change.Change
	}
	tests := []struct {
		name   string
		adds   []add
		at     int
		urgent bool
		want   []string
	}{
		{"the first change after a quiet period ships at once", []add{{0, mod("a")}}, 1, false, []string{"a"}},
		{"a change right after it waits out the debounce", []add{{0, mod("a")}, {10, mod("b")}}, 11, false, []string{"a"}},
		{"after another quiet period, the next one leads", []add{{0, mod("a")}, {10, mod("b")}, {400, mod("c")}}, 401, false, []string{"a", "b", "c"}},
		{"a file still being written does not lead", []add{{0, writing("f")}}, 1, false, nil},
		{"nor ship once quiet", []add{{0, writing("f")}}, 300, false, nil},
		{"it leads once closed", []add{{0, writing("f")}, {50, closed("f")}}, 51, false, []string{"f"}},
		{"it ships at max delay however long it stays open", []add{{0, writing("f")}}, 2000, false, []string{"f"}},
		{"a barrier takes it at once", []add{{0, writing("f")}}, 1, true, []string{"f"}},
		{"a new directory does not lead", []add{{0, change.Change{Op: change.OpMkdir, Path: "d", Dir: true}}}, 1, false, nil},
		{"a renamed directory leads, with its old name", []add{{0, change.Change{Op: change.OpRename, From: "d", Path: "e", Dir: true}}}, 1, false, []string{"d", "e"}},
		{"so does a renamed file", []add{{0, change.Change{Op: change.OpRename, From: "f", Path: "g"}}}, 1, false, []string{"f", "g"}},
		{"a rename inside a new directory does not make it lead",
			[]add{{0, change.Change{Op: change.OpMkdir, Path: "d", Dir: true}}, {300, change.Change{Op: change.OpRename, From: "d/a", Path: "d/b"}}}, 301, false, nil},
		{"a writer does not hold the others", []add{{0, mod("a")}, {10, writing("f")}, {20, mod("b")}}, 230, false, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue()
			q.quiet = delay
			var got []*entry
			for i, a := range tt.adds {
				q.add(a.ev, uint64(i+1), ms(a.at))
				// The scheduler runs after every change.
				got = append(got, q.take(ms(a.at), pick{delay: delay, maxDelay: maxDelay})...)
			}
			got = append(got, q.take(ms(tt.at), pick{delay: delay, maxDelay: maxDelay, urgent: tt.urgent, urgentSeq: 1 << 60})...)
			if !slices.Equal(paths(got), tt.want) {
				t.Errorf("took %q, want %q", paths(got), tt.want)
			}
			checkLists(t, q)
		})
	}
}

func TestQueueNextReadySkipsWriters(t *testing.T) {
	q := newQueue()
	p := pick{delay: 200 * time.Millisecond, maxDelay: 2 * time.Second}
	q.add(change.Change{Op: change.OpCreate, Path: "f", Writing: true}, 1, t0)
	if at, ok := q.nextReady(p); !ok || !at.Equal(t0.Add(2*time.Second)) {
		t.Errorf("next ready %v %v, want max delay after the first change (the writer holds it)", at, ok)
	}
}

// A name a run lists without taking its entry (another name of a linked
// file) may be on the destination from then on: deleting it, or the new
// directory it is in, must ship.
func TestQueueShippingEndsBorn(t *testing.T) {
	tests := []struct {
		name    string
		changes []change.Change
		shipped string
		after   int // shipped once this many changes are in
		want    []string
	}{
		{"a new name",
			[]change.Change{{Op: change.OpLink, Path: "n1", From: "a"}, {Op: change.OpUnlink, Path: "n1"}},
			"n1", 1, []string{"a", "n1"}},
		{"a name in a new directory",
			[]change.Change{{Op: change.OpMkdir, Path: "d", Dir: true}, {Op: change.OpLink, Path: "d/n1", From: "a"},
				{Op: change.OpUnlink, Path: "d/n1"}, {Op: change.OpRmdir, Path: "d", Dir: true}},
			"d/n1", 2, []string{"a", "d:r"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue()
			for i, c := range tt.changes {
				if i == tt.after {
					q.shipping(tt.shipped)
				}
				q.add(c, uint64(i+1), t0)
			}
			if got := snapshot(q); !slices.Equal(got, tt.want) {
				t.Errorf("queue %q, want %q: the deletion of a shipped name was dropped", got, tt.want)
			}
		})
	}
}
