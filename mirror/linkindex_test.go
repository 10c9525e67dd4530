package mirror

import (
	"slices"
	"testing"
)

func TestLinkIndex(t *testing.T) {
	a, b := fileID{1, 10}, fileID{1, 20}
	tests := []struct {
		name string
		do   func(x *linkIndex)
		want map[fileID][]string
	}{
		{"link", func(x *linkIndex) { x.link(a, "f", "g") }, map[fileID][]string{a: {"f", "g"}}},
		{"link twice is one name", func(x *linkIndex) { x.link(a, "f", "g"); x.link(a, "f", "g") }, map[fileID][]string{a: {"f", "g"}}},
		{"unlink leaves a single name, which goes too", func(x *linkIndex) { x.link(a, "f", "g"); x.remove("g") }, map[fileID][]string{}},
		{"unlink one of three", func(x *linkIndex) { x.link(a, "f", "g"); x.link(a, "f", "h"); x.remove("g") }, map[fileID][]string{a: {"f", "h"}}},
		{"rename a name", func(x *linkIndex) { x.link(a, "f", "g"); x.rename("g", "h") }, map[fileID][]string{a: {"f", "h"}}},
		{"rename over a linked name", func(x *linkIndex) {
			x.link(a, "f", "g")
			x.link(b, "m", "n")
			x.link(b, "m", "o")
			x.rename("g", "m")
		}, map[fileID][]string{a: {"f", "m"}, b: {"n", "o"}}},
		{"rename a directory", func(x *linkIndex) {
			x.link(a, "d/f", "top")
			x.link(b, "d/e/g", "d/e/h")
			x.add(b, "dd") // "dd" sorts after "d/" and is not below d
			x.rename("d", "x/y")
		}, map[fileID][]string{a: {"top", "x/y/f"}, b: {"dd", "x/y/e/g", "x/y/e/h"}}},
		{"exchange directories", func(x *linkIndex) {
			x.link(a, "p/f", "q/f")
			x.link(b, "p/g", "top")
			x.exchange("p", "q")
		}, map[fileID][]string{a: {"p/f", "q/f"}, b: {"q/g", "top"}}},
		{"remove a directory", func(x *linkIndex) { x.link(a, "d/f", "d/g"); x.link(b, "d0", "e"); x.remove("d") },
			map[fileID][]string{b: {"d0", "e"}}},
		{"rename keeps a group of two", func(x *linkIndex) { x.link(a, "f", "g"); x.rename("f", "h") }, map[fileID][]string{a: {"g", "h"}}},
		{"a name changes inode", func(x *linkIndex) { x.link(a, "f", "g"); x.add(b, "g") }, map[fileID][]string{a: {"f"}, b: {"g"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := newLinkIndex()
			tc.do(x)
			n := 0
			for id, want := range tc.want {
				got := slices.Clone(x.names(id))
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("names of %v: %q, want %q", id, got, want)
				}
				n += len(want)
			}
			if x.len() != n || len(x.byID) != len(tc.want) {
				t.Errorf("index holds %d names in %d groups, want %d in %d", x.len(), len(x.byID), n, len(tc.want))
			}
		})
	}
}

func TestLinkIndexBelowRoot(t *testing.T) {
	x := newLinkIndex()
	x.link(fileID{1, 1}, "a", "b/c")
	if got := len(x.below(".")); got != 2 {
		t.Fatalf("below(.) = %d names, want 2", got)
	}
}
