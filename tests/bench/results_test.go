package bench

import (
	"fmt"
	"math"
	"slices"
	"sync"
)

// series holds one cell's runs for one tool or target.
type series struct {
	vals   []float64
	capped int    // runs that hit the cap
	err    string // last failure
}

func (s *series) median() float64 {
	if s == nil || len(s.vals) == 0 {
		return math.NaN()
	}
	v := slices.Clone(s.vals)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func (s *series) minmax() (float64, float64) {
	return slices.Min(s.vals), slices.Max(s.vals)
}

// results maps metric → target → series. A metric is "cell" or "cell:what".
type results struct {
	mu    sync.Mutex
	m     map[string]map[string]*series
	notes map[string]string
}

func newResults() *results {
	return &results{m: map[string]map[string]*series{}, notes: map[string]string{}}
}

func (r *results) note(key, val string) {
	r.mu.Lock()
	r.notes[key] = val
	r.mu.Unlock()
}

func (r *results) noteOf(key string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.notes[key]
}

func (r *results) get(metric, target string) *series {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m[metric] == nil {
		r.m[metric] = map[string]*series{}
	}
	s := r.m[metric][target]
	if s == nil {
		s = &series{}
		r.m[metric][target] = s
	}
	return s
}

func (r *results) lookup(metric, target string) *series {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[metric][target]
}

func (r *results) add(metric, target string, v float64) {
	s := r.get(metric, target)
	r.mu.Lock()
	s.vals = append(s.vals, v)
	r.mu.Unlock()
}

func (r *results) capped(metric, target string) {
	s := r.get(metric, target)
	r.mu.Lock()
	s.capped++
	r.mu.Unlock()
}

func (r *results) fail(metric, target, msg string) {
	s := r.get(metric, target)
	r.mu.Lock()
	s.err = msg
	r.mu.Unlock()
}

// cell formats a series as "median [min–max]" with the given unit format.
func cellText(s *series, format func(float64) string, capText string) string {
	switch {
	case s == nil:
		return "–"
	case len(s.vals) == 0 && s.capped > 0:
		return capText
	case len(s.vals) == 0 && s.err != "":
		return "failed"
	case len(s.vals) == 0:
		return "–"
	}
	med := format(s.median())
	extra := ""
	if s.capped > 0 {
		extra = fmt.Sprintf(", %d run(s) %s", s.capped, capText)
	}
	if len(s.vals) == 1 {
		if extra != "" {
			return med + " (" + extra[2:] + ")"
		}
		return med
	}
	lo, hi := s.minmax()
	return fmt.Sprintf("%s [%s–%s%s]", med, format(lo), format(hi), extra)
}

func secs(v float64) string {
	switch {
	case v < 0.01:
		return fmt.Sprintf("%.4fs", v)
	case v < 10:
		return fmt.Sprintf("%.3fs", v)
	default:
		return fmt.Sprintf("%.1fs", v)
	}
}

func ratio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	if v >= 10 {
		return fmt.Sprintf("%.0f×", v)
	}
	return fmt.Sprintf("%.2f×", v)
}
