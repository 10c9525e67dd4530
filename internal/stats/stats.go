// Package stats counts the changes of a mount in inotify's vocabulary
// (change.Kind), as inotifywatch does: per event type in total, and for
// the busiest paths.
// Add runs on the FUSE hot path, so totals are atomic counters and the
// per-path counts a bounded space-saving summary (Metwally et al.): a fixed
// number of slots, the least counted one recycled for a new path.
package stats

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// NumKinds is how many kinds have a column: every kind before ISDIR,
// which only qualifies the others.
const NumKinds = int(change.IsDir)

// kindNames are the columns' names, lowercase as inotifywatch prints them.
var kindNames = func() (n [NumKinds]string) {
	for k := range n {
		n[k] = strings.ToLower(change.Kind(k).String())
	}
	return n
}()

// Kinds lists every counted kind in table order.
func Kinds() []change.Kind {
	out := make([]change.Kind, NumKinds)
	for i := range out {
		out[i] = change.Kind(i)
	}
	return out
}

// Name is k's column name, e.g. close_write.
func Name(k change.Kind) string { return kindNames[k] }

// Counts holds one count per kind; in JSON an object keyed by kind name.
type Counts [NumKinds]uint64

// Total is the sum over all kinds.
func (c Counts) Total() uint64 {
	var t uint64
	for _, n := range c {
		t += n
	}
	return t
}

func (c Counts) MarshalJSON() ([]byte, error) {
	m := make(map[string]uint64, NumKinds)
	for k, n := range c {
		m[kindNames[k]] = n
	}
	return json.Marshal(m)
}

func (c *Counts) UnmarshalJSON(b []byte) error {
	var m map[string]uint64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for k, name := range kindNames {
		c[k] = m[name]
	}
	return nil
}

// DefaultSlots is how many paths the summary tracks at once.
const DefaultSlots = 1000

// Counter counts changes. The zero value is not usable; call New.
type Counter struct {
	since  time.Time
	totals [NumKinds]atomic.Uint64

	mu  sync.Mutex
	top summary
}

// New returns a Counter tracking up to slots paths.
func New(slots int) *Counter {
	if slots <= 0 {
		slots = DefaultSlots
	}
	return &Counter{since: time.Now(), top: summary{slots: slots, byPath: make(map[string]*slot, slots)}}
}

var _ change.Reporter = (*Counter)(nil)

// Report counts what inotify would report for ch, the old name of a move
// first. A change to a file with no name known to the mount gives no
// event: inotify reports by name.
func (c *Counter) Report(ch change.Change) {
	if ch.Orphan() {
		return
	}
	pk, fk := ch.Kinds()
	if ch.From != "" {
		c.addKinds(ch.From, fk)
	}
	c.addKinds(ch.Path, pk)
}

func (c *Counter) addKinds(path string, ks change.Kinds) {
	for k := change.Kind(0); int(k) < NumKinds; k++ {
		if ks.Has(k) {
			c.Add(path, k)
		}
	}
}

// Add counts one event of kind k on path.
func (c *Counter) Add(path string, k change.Kind) {
	c.totals[k].Add(1)
	c.mu.Lock()
	c.top.add(path, k)
	c.mu.Unlock()
}

// Path is one row of the busiest paths.
type Path struct {
	Path   string `json:"path"`
	Total  uint64 `json:"total"`
	Counts Counts `json:"counts"`
	// Error bounds how much Total may overstate: the path took over a
	// recycled slot with that count. 0: exact.
	Error uint64 `json:"error,omitempty"`
}

// Snapshot is what `mirrorfs stats` prints.
type Snapshot struct {
	Since   time.Time `json:"since"`
	Totals  Counts    `json:"totals"`
	Total   uint64    `json:"total"`
	Paths   []Path    `json:"paths"`
	Slots   int       `json:"slots"`
	Tracked int       `json:"tracked"`
}

// Snapshot returns the totals and the n busiest paths, busiest first.
func (c *Counter) Snapshot(n int) Snapshot {
	s := Snapshot{Since: c.since, Slots: c.top.slots}
	for k := range s.Totals {
		s.Totals[k] = c.totals[k].Load()
	}
	s.Total = s.Totals.Total()
	c.mu.Lock()
	s.Tracked = len(c.top.heap)
	rows := make([]Path, len(c.top.heap))
	for i, sl := range c.top.heap {
		rows[i] = Path{Path: sl.path, Total: sl.count, Counts: sl.kinds, Error: sl.err}
	}
	c.mu.Unlock()
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Total != rows[j].Total {
			return rows[i].Total > rows[j].Total
		}
		return rows[i].Path < rows[j].Path
	})
	if n >= 0 && len(rows) > n {
		rows = rows[:n]
	}
	s.Paths = rows
	return s
}

type slot struct {
	path       string
	count, err uint64
	kinds      Counts
	idx        int
}

// summary is a min-heap of slots by count plus an index by path.
type summary struct {
	slots  int
	byPath map[string]*slot
	heap   []*slot
}

func (s *summary) add(path string, k change.Kind) {
	if sl := s.byPath[path]; sl != nil {
		sl.count++
		sl.kinds[k]++
		heap.Fix(s, sl.idx)
		return
	}
	if len(s.heap) < s.slots {
		sl := &slot{path: path, count: 1}
		sl.kinds[k] = 1
		s.byPath[path] = sl
		heap.Push(s, sl)
		return
	}
	sl := s.heap[0] // the least counted path gives way
	delete(s.byPath, sl.path)
	sl.path, sl.err = path, sl.count
	sl.count++
	sl.kinds = Counts{}
	sl.kinds[k] = 1
	s.byPath[path] = sl
	heap.Fix(s, 0)
}

func (s *summary) Len() int           { return len(s.heap) }
func (s *summary) Less(i, j int) bool { return s.heap[i].count < s.heap[j].count }
func (s *summary) Swap(i, j int) {
	s.heap[i], s.heap[j] = s.heap[j], s.heap[i]
	s.heap[i].idx, s.heap[j].idx = i, j
}
func (s *summary) Push(x any) {
	sl := x.(*slot)
	sl.idx = len(s.heap)
	s.heap = append(s.heap, sl)
}
func (s *summary) Pop() any {
	panic(fmt.Sprintf("stats: summary never pops (%d slots)", len(s.heap)))
}
