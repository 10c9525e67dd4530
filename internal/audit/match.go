package audit

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// side is who saw a change.
type side uint8

const (
	sideFUSE side = iota
	sideInotify
)

func (s side) String() string {
	if s == sideFUSE {
		return "fuse"
	}
	return "inotify"
}

func (s side) other() side { return 1 - s }

// seen is one side's view of one path.
type seen struct {
	first, last time.Time // range of sightings while the entry lives
	pending     time.Time // earliest sighting not yet matched; zero: none
	what        map[string]bool
}

type entry struct {
	sides [2]seen
	// Inotify's IN_MODIFY and directory scans are evidence only: they
	// match a FUSE report, but demand none (FUSE learns of writes at close
	// or every WriteInterval, and a scan is not a change).
	evFirst, evLast time.Time
}

// Mismatch is one change only one side saw.
type Mismatch struct {
	Path   string    `json:"path"`
	SeenBy string    `json:"seen_by"` // "fuse" or "inotify"
	Events string    `json:"events"`  // what that side saw, e.g. "CREATE,CLOSE_WRITE" or "create,write"
	Time   time.Time `json:"time"`
}

// matcher pairs sightings of the same path by both sides within window.
// Sightings arrive out of time order (FUSE reports are drained in
// batches), so each side keeps the range of times it saw a path.
type matcher struct {
	window, slack time.Duration

	mu      sync.Mutex
	paths   map[string]*entry
	missed  [2]uint64 // missed[s]: seen by s only
	lastMis *Mismatch
	fresh   []Mismatch // found since the last take
}

func newMatcher(window, slack time.Duration) *matcher {
	return &matcher{window: window, slack: slack, paths: map[string]*entry{}}
}

func (m *matcher) near(t, first, last time.Time, extra time.Duration) bool {
	return !first.IsZero() && !t.Before(first.Add(-m.window)) && !t.After(last.Add(m.window+extra))
}

// see records that s saw path at t doing what.
func (m *matcher) see(s side, path string, t time.Time, what string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.paths[path]
	if e == nil {
		e = &entry{}
		m.paths[path] = e
	}
	me, them := &e.sides[s], &e.sides[s.other()]
	if me.first.IsZero() || t.Before(me.first) {
		me.first = t
	}
	if t.After(me.last) {
		me.last = t
	}
	if me.what == nil {
		me.what = map[string]bool{}
	}
	me.what[what] = true
	if !them.pending.IsZero() && m.near(them.pending, t, t, 0) {
		them.pending = time.Time{}
		return
	}
	if m.near(t, them.first, them.last, 0) || (s == sideFUSE && m.near(t, e.evFirst, e.evLast, m.slack)) {
		return
	}
	if me.pending.IsZero() || t.Before(me.pending) {
		me.pending = t
	}
}

// evidence records an inotify sighting that matches FUSE reports but needs
// no FUSE report of its own.
func (m *matcher) evidence(path string, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.paths[path]
	if e == nil {
		e = &entry{}
		m.paths[path] = e
	}
	if e.evFirst.IsZero() || t.Before(e.evFirst) {
		e.evFirst = t
	}
	if t.After(e.evLast) {
		e.evLast = t
	}
	if p := e.sides[sideFUSE].pending; !p.IsZero() && !p.Before(t.Add(-m.window-m.slack)) && !p.After(t.Add(m.window)) {
		e.sides[sideFUSE].pending = time.Time{}
	}
}

// forget drops what s saw but the other side did not match yet: after an
// inotify queue overflow, inotify's silence proves nothing.
func (m *matcher) forget(s side) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.paths {
		e.sides[s].pending = time.Time{}
	}
}

// sweep turns sightings older than the window into mismatches. horizon[s]
// is how far side s is known to be complete: a sighting by one side is
// judged only once the other side has caught up past it plus the window.
func (m *matcher) sweep(horizon [2]time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keep := 2*m.window + m.slack
	for p, e := range m.paths {
		for s := range e.sides {
			sd := &e.sides[s]
			if sd.pending.IsZero() || !sd.pending.Add(m.window).Before(horizon[side(s).other()]) {
				continue
			}
			m.missed[s]++
			mis := Mismatch{Path: p, SeenBy: side(s).String(), Events: joinKeys(sd.what), Time: sd.pending}
			m.lastMis = &mis
			m.fresh = append(m.fresh, mis)
			sd.pending = time.Time{}
		}
		last, undecided := e.evLast, false
		for _, sd := range e.sides {
			if sd.last.After(last) {
				last = sd.last
			}
			undecided = undecided || !sd.pending.IsZero()
		}
		if !undecided && last.Add(keep).Before(horizon[0]) && last.Add(keep).Before(horizon[1]) {
			delete(m.paths, p)
		}
	}
}

// take returns the mismatches found since the last call.
func (m *matcher) take() []Mismatch {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.fresh
	m.fresh = nil
	return f
}

func (m *matcher) counts() (missedByFUSE, missedByInotify uint64, last *Mismatch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lastMis != nil {
		c := *m.lastMis
		last = &c
	}
	return m.missed[sideInotify], m.missed[sideFUSE], last
}

func joinKeys(set map[string]bool) string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}
