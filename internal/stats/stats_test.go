package stats

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/change"
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
				c.Add("busy", change.CloseWrite)
			}
			c.Add("busy", change.Attrib)
			c.Add("quiet", change.Create)
		}, "busy", 6, 7, 2},
		{"recycled slots keep the heavy hitter", 4, func(c *Counter) {
			for i := range 100 {
				c.Add("hot", change.Modify)
				c.Add(fmt.Sprintf("cold%d", i), change.Create)
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
	c[change.CloseWrite], c[change.MovedTo] = 3, 1
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Counts
	if err := json.Unmarshal(b, &back); err != nil || back != c {
		t.Fatalf("round trip %s = %v (%v), want %v", b, back, err, c)
	}
}

func TestReport(t *testing.T) {
	tests := []struct {
		c    change.Change
		want map[string]Counts
	}{
		{change.Change{Op: change.OpMkdir, Path: "d", Dir: true}, map[string]Counts{"d": {change.Create: 1}}},
		{change.Change{Op: change.OpLink, Path: "b", From: "a"}, map[string]Counts{"b": {change.Create: 1}}},
		{change.Change{Op: change.OpRmdir, Path: "d", Dir: true}, map[string]Counts{"d": {change.Delete: 1}}},
		{change.Change{Op: change.OpRename, Path: "b", From: "a"}, map[string]Counts{"a": {change.MovedFrom: 1}, "b": {change.MovedTo: 1}}},
		{change.Change{Op: change.OpExchange, Path: "b", From: "a"}, map[string]Counts{
			"a": {change.MovedFrom: 1, change.MovedTo: 1}, "b": {change.MovedFrom: 1, change.MovedTo: 1}}},
		{change.Change{Op: change.OpWrite, Path: "f"}, map[string]Counts{"f": {change.CloseWrite: 1}}},
		{change.Change{Op: change.OpTruncate, Path: "f"}, map[string]Counts{"f": {change.Modify: 1}}},
		{change.Change{Op: change.OpRemovexattr, Path: "f"}, map[string]Counts{"f": {change.Attrib: 1}}},
	}
	for _, tc := range tests {
		c := New(10)
		c.Report(tc.c)
		got := map[string]Counts{}
		for _, p := range c.Snapshot(10).Paths {
			got[p.Path] = p.Counts
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%v: counted %v, want %v", tc.c, got, tc.want)
		}
	}
	if got := fmt.Sprint(kindNames); got != "[create modify attrib close_write moved_from moved_to delete]" {
		t.Errorf("columns %s", got)
	}
}
