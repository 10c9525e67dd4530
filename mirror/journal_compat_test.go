package mirror

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// oldAdd encodes a recAdd as versions before change.Kinds did: the
// engine's Op in the flags above the recursive bit.
func oldAdd(seq uint64, op uint64, recursive bool, path string) []byte {
	flags := op << 1
	if recursive {
		flags |= 1
	}
	payload := []byte{byte(recAdd)}
	payload = binary.AppendUvarint(payload, seq)
	payload = binary.AppendUvarint(payload, flags)
	payload = appendString(payload, path)
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(payload, crcTable))
	return append(b, payload...)
}

func TestRecordOldOps(t *testing.T) {
	tests := []struct {
		op        uint64 // the old mirror.Op
		recursive bool
		want      change.Kinds
	}{
		{0, false, 0}, // a snapshot's record: no history
		{1, true, change.Of(change.Create)},
		{2, false, change.Of(change.Modify)},
		{3, false, change.Of(change.Attrib)},
		{4, false, change.Of(change.Delete)},
		{5, true, change.Of(change.MovedTo)},
		{6, true, change.Of(change.MovedFrom, change.MovedTo)},
		{7, false, change.Of(change.MovedFrom)},
	}
	for _, tc := range tests {
		b := oldAdd(42, tc.op, tc.recursive, "d/f")
		var r record
		n, err := decodeRecord(b, &r)
		if err != nil || n != len(b) {
			t.Fatalf("old op %d: %v (%d of %d bytes)", tc.op, err, n, len(b))
		}
		want := record{kind: recAdd, seq: 42, recursive: tc.recursive, kinds: tc.want, path: "d/f"}
		if r != want {
			t.Errorf("old op %d: got %+v, want %+v", tc.op, r, want)
		}
	}
}

func TestReplayOldJournal(t *testing.T) {
	data := appendRecord(nil, &record{kind: recHeader})
	data = append(data, oldAdd(1, 1, true, "d")...)    // mkdir d
	data = append(data, oldAdd(2, 2, false, "d/f")...) // write d/f
	data = append(data, oldAdd(3, 5, false, "d/f")...) // rename onto d/f
	rep, err := replayLog(data)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]change.Kinds{
		"d":   change.Of(change.Create),
		"d/f": change.Of(change.Modify, change.MovedTo),
	} {
		got := rep.paths[p]
		if got == nil || got.ops != want {
			t.Errorf("%s: replayed %+v, want ops %v", p, got, want)
		}
	}
	if !rep.paths["d"].recursive || rep.paths["d/f"].seq != 3 {
		t.Errorf("replayed %+v, %+v", rep.paths["d"], rep.paths["d/f"])
	}
}
