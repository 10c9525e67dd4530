package mirror

import (
	"slices"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

func TestExcludeMatch(t *testing.T) {
	x, err := NewExclude([]string{`\.swp$`, `(^|/)cache/`}, []string{`^tmp/`})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		dir  bool
		want bool
	}{
		{"a.swp", false, true},
		{"d/a.swp", false, true},
		{"a.swpx", false, false},
		{"tmp", true, true},
		{"TMP", true, true},
		{"Tmp/x/y", false, true},
		{"tmp", false, false}, // a file named tmp is not the directory tmp/
		{"tmpfile", false, false},
		{"a/cache", true, true},
		{"a/cache/obj", false, true},
		{"a/cachex/obj", false, false},
		{"x.swp/inside", false, false}, // directories match with their "/": x.swp/ is not excluded
		{"a/cache/sub/f", false, true}, // below an excluded directory
		{".", true, false},
	}
	for _, tc := range tests {
		if got := x.Match(tc.path, tc.dir); got != tc.want {
			t.Errorf("Match(%q, dir=%v) = %v, want %v", tc.path, tc.dir, got, tc.want)
		}
	}
	if x, _ := NewExclude(nil, []string{""}); x != nil || x.Match("a", false) {
		t.Errorf("no patterns: want a nil Exclude that matches nothing")
	}
	if _, err := NewExclude([]string{`(a)\1`}, nil); err == nil {
		t.Errorf("backreference accepted; RE2 cannot run it")
	}
}

func TestEscapeRulePattern(t *testing.T) {
	for in, want := range map[string]string{
		"plain/name": "plain/name", `back\slash`: `back\slash`,
		"star*": `star\*`, `both\*`: `both\\\*`, "q?[x]": `q\?\[x]`,
	} {
		if got := escapeRulePattern(in); got != want {
			t.Errorf("escapeRulePattern(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExcludeTreeArgsOnlyForTreeRuns(t *testing.T) {
	x, _ := NewExclude([]string{`\.swp$`}, nil)
	args := []string{"-a", "--files-from=-", "src/", "dst/"}
	got, release, err := x.treeArgs(nil, args, nil)
	release()
	if err != nil || !slices.Equal(got, args) {
		t.Errorf("list run changed: %q, %v", got, err)
	}
}

func TestChangesFromOps(t *testing.T) {
	q := newQueue()
	q.add(change.Change{Op: change.OpCreate, Path: "d", Dir: true}, 1, time.Unix(1e9, 0))
	q.add(change.Change{Op: change.OpWrite, Path: "f"}, 2, time.Unix(1e9, 0))
	q.add(change.Change{Op: change.OpRename, From: "f", Path: "g"}, 3, time.Unix(1e9, 0))
	for p, want := range map[string]change.Kinds{
		"d": change.Of(change.Create, change.IsDir),
		"f": change.Of(change.CloseWrite, change.MovedFrom),
		"g": change.Of(change.MovedTo),
	} {
		e := q.get(p)
		if e == nil {
			t.Fatalf("%s not queued", p)
		}
		if got := e.ops; got != want {
			t.Errorf("%s: changes %v, want %v", p, got, want)
		}
	}
}
