package stats

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestCounter(t *testing.T) {
	tests := []struct {
		name    string
		slots   int
		events  func(c *Counter)
		top     string
		topN    uint64
		total   uint64
		tracked int
	}{
		{"exact", 10, func(c *Counter) {
			for range 5 {
				c.Add("busy", CloseWrite)
			}
			c.Add("busy", Attrib)
			c.Add("quiet", Create)
		}, "busy", 6, 7, 2},
		{"recycled slots keep the heavy hitter", 4, func(c *Counter) {
			for i := range 100 {
				c.Add("hot", Modify)
				c.Add(fmt.Sprintf("cold%d", i), Create)
			}
		}, "hot", 100, 200, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New(tc.slots)
			tc.events(c)
			s := c.Snapshot(10)
			if len(s.Paths) == 0 || s.Paths[0].Path != tc.top || s.Paths[0].Total != tc.topN {
				t.Fatalf("top = %+v, want %s with %d", s.Paths, tc.top, tc.topN)
			}
			if s.Total != tc.total || s.Tracked != tc.tracked {
				t.Errorf("total %d tracked %d, want %d and %d", s.Total, s.Tracked, tc.total, tc.tracked)
			}
		})
	}
}

func TestCountsJSON(t *testing.T) {
	var c Counts
	c[CloseWrite], c[MovedTo] = 3, 1
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Counts
	if err := json.Unmarshal(b, &back); err != nil || back != c {
		t.Fatalf("round trip %s = %v (%v), want %v", b, back, err, c)
	}
}
