package mirror

import (
	"testing"
	"time"
)

func TestDebts(t *testing.T) {
	now := time.Unix(1000, 0)
	type step struct {
		do     func(d *debts)
		blocks map[uint64]bool // barrier limit -> waits
		due    bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"overflow blocks barriers from its first change on", []step{
			{do: func(d *debts) { d.owe(ReasonOverflow, 7, 8, now) }, blocks: map[uint64]bool{6: false, 7: true, 100: true}, due: true},
			{do: func(d *debts) { d.start(9) }, blocks: map[uint64]bool{6: false, 7: true}, due: false},
			{do: func(d *debts) { d.finish(true) }, blocks: map[uint64]bool{7: false}, due: false},
		}},
		{"requested and interval never block", []step{
			{do: func(d *debts) { d.owe(ReasonRequested, 1, 2, now); d.owe(ReasonInterval, 1, 3, now) }, blocks: map[uint64]bool{1: false, 9: false}, due: true},
		}},
		{"a failed full sync owes again", []step{
			{do: func(d *debts) { d.owe(ReasonInitial, 0, 0, now) }, blocks: map[uint64]bool{0: true}, due: true},
			{do: func(d *debts) { d.start(1) }, due: false},
			{do: func(d *debts) { d.finish(false) }, blocks: map[uint64]bool{5: true}, due: true},
			{do: func(d *debts) { d.start(2); d.finish(true) }, blocks: map[uint64]bool{5: false}, due: false},
		}},
		{"a debt opened while one runs waits for the next", []step{
			{do: func(d *debts) { d.owe(ReasonOverflow, 3, 4, now); d.start(5) }},
			{do: func(d *debts) { d.owe(ReasonOverflow, 6, 7, now) }, due: false, blocks: map[uint64]bool{3: true}},
			{do: func(d *debts) { d.finish(true) }, due: true, blocks: map[uint64]bool{5: false, 6: true}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d debts
			for i, s := range tc.steps {
				s.do(&d)
				if d.due() != s.due {
					t.Errorf("step %d: due %v, want %v (%+v)", i, d.due(), s.due, d)
				}
				for lim, want := range s.blocks {
					if got := d.blocksBarrier(lim); got != want {
						t.Errorf("step %d: blocksBarrier(%d) = %v, want %v", i, lim, got, want)
					}
				}
			}
		})
	}
}

func TestDebtsJoinAndPay(t *testing.T) {
	var d debts
	now := time.Unix(1000, 0)
	if !d.owe(ReasonRequested, 1, 10, now) || d.owe(ReasonRequested, 1, 12, now) {
		t.Fatal("a second request before the sync started should join the first")
	}
	if len(d.owed) != 1 || d.owed[0].seq != 12 {
		t.Fatalf("joined debt %+v, want one that starts after 12", d.owed)
	}
	d.start(13)
	if !d.owe(ReasonRequested, 1, 14, now) {
		t.Fatal("a request while the sync runs must open a new debt")
	}
	d.finish(true)
	if d.paidSeq != 13 || !d.due() {
		t.Fatalf("after the first sync: paid %d due %v, want 13 and the second request owed", d.paidSeq, d.due())
	}
	if got := d.status(); len(got) != 1 || got[0].Reason != "requested" || got[0].Blocks {
		t.Errorf("status %+v", got)
	}
}

func TestReasonNames(t *testing.T) {
	for r := ReasonInitial; r <= ReasonInterval; r++ {
		got, ok := parseReason(r.String())
		if !ok || got != r {
			t.Errorf("parseReason(%q) = %v, %v", r.String(), got, ok)
		}
	}
	if _, ok := parseReason("link-repair"); ok {
		t.Error("an unknown reason parsed")
	}
}
