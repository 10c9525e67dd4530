package mirror

import (
	"os"
	"slices"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// TestPartial drives the exit-23/24 handling with recorded stderr.
func TestPartial(t *testing.T) {
	tests := []struct {
		name       string
		events     []change.Change
		code       int
		stderr     string
		wantDone   []string // shipped
		wantFailed []string // requeued with a per-path error
		wantSplits int
		wantLong   int
	}{
		{"named path fails, rest shipped", []change.Change{mod("a"), mod("b"), mod("c")}, 23,
			"rsync: [sender] link_stat \"/proc/self/fd/3/b\" failed: Permission denied (13)\nrsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]\n",
			[]string{"a", "c"}, []string{"b"}, 0, 0},
		{"temp file of a listed path", []change.Change{mod("d/f"), mod("d/g")}, 23,
			"rsync: [receiver] mkstemp \"/dst/d/.f.GV6UBe\" failed: Operation not permitted (1)\n",
			[]string{"d/g"}, []string{"d/f"}, 0, 0},
		{"unattributable: split", []change.Change{mod("a"), mod("b"), mod("c")}, 23,
			"rsync: something nobody expected\n", nil, nil, 2, 0},
		{"unattributable, one entry: that entry", []change.Change{mod("a")}, 23,
			"rsync: something nobody expected\n", nil, []string{"a"}, 0, 0},
		{"vanished only: success", []change.Change{mod("a"), mod("b")}, 24,
			"file has vanished: \"/proc/self/fd/3/a\"\nrsync warning: some files vanished before they could be transferred (code 24) at main.c(1394) [sender=3.5.0]\n",
			[]string{"a", "b"}, nil, 0, 0},
		{"overflow: reported, not retried", []change.Change{mkdir("deep")}, 23,
			"filename overflows max-path len by 125: deep/x/y\nIO error encountered -- skipping file deletion\n",
			[]string{"deep"}, nil, 0, 1},
		{"failure inside a recursive entry fails it", []change.Change{mkdir("t"), mod("u")}, 23,
			"rsync: [sender] send_files failed to open \"/proc/self/fd/3/t/x/y\": Permission denied (13)\n",
			[]string{"u"}, []string{"t"}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			e, err := New(testConfig(func(c *Config) { c.Source, c.Dest = f, Destination{Kind: DestLocal, LocalDir: "/dst"} }))
			if err != nil {
				t.Fatal(err)
			}
			for i, ev := range tt.events {
				e.q.add(ev, uint64(i+1), t0)
			}
			items := e.q.take(t0, pick{urgent: true})
			b := &batch{all: items}
			b.runs = planBatch(items)
			var done, failed []string
			for i := range b.runs {
				r := &b.runs[i]
				members := b.members(r)
				if i == 0 { // the stderr belongs to the first run; the others succeed
					res := result{code: tt.code, stderr: []byte(tt.stderr)}
					e.partialLocked(b, r, members, res, classify(res.code, res.stderr, e.cfg.Dest, &e.cfg))
				} else {
					e.settleLocked(members, nil, b)
				}
				for _, m := range members {
					switch m.place {
					case placeNone:
						done = append(done, m.path)
					case placeBackoff:
						failed = append(failed, m.path)
						if m.attempts != 1 || m.lastErr() == "" {
							t.Errorf("%s: attempts %d error %q", m.path, m.attempts, m.lastErr())
						}
					}
				}
			}
			slices.Sort(done)
			slices.Sort(failed)
			if !slices.Equal(done, tt.wantDone) || !slices.Equal(failed, tt.wantFailed) || len(e.splits) != tt.wantSplits || len(e.q.long) != tt.wantLong {
				t.Errorf("done %q failed %q splits %d long %d; want %q %q %d %d", done, failed, len(e.splits), len(e.q.long), tt.wantDone, tt.wantFailed, tt.wantSplits, len(e.q.long))
			}
			if tt.wantSplits > 0 {
				n := 0
				for _, sb := range e.splits {
					n += len(sb.all)
				}
				if n != len(items) || len(e.q.flight) != len(items) {
					t.Errorf("split lost entries: %d in halves, %d in flight, want %d", n, len(e.q.flight), len(items))
				}
			}
		})
	}
}
