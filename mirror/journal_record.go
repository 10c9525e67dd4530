package mirror

import (
	"encoding/binary"
	"errors"
	"hash/crc32"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// The journal is an append-only log of checksummed records:
//
//	u32 LE payload length | u32 LE CRC32C of payload | payload
//
// payload: kind byte, then kind-specific uvarints and length-prefixed strings.
// A torn or corrupt tail (crash mid-write) ends the log at the last good record.
//
// recAdd and recAck flags: bit 0 recursive, bits 1-4 the op earlier
// versions wrote (read only: oldOpKinds), bits 5 and up the change.Kinds
// the path saw. An earlier version reading this replays the paths without
// their history, which it treats as new names: harmless.

type recKind uint8

const (
	recHeader   recKind = iota + 1 // magic and version; first record of a file
	recAdd                         // path changed at seq (flags: recursive, kinds)
	recAck                         // path is on the destination as of seq lim
	recFail                        // path failed on its own: attempts, last error
	recFull                        // a full sync made everything up to seq lim equal
	recClean                       // orderly shutdown: everything above was synced to disk
	recOverflow                    // the queue was full: a full sync after seq is owed (read for old journals)
	recOwed                        // a full sync after seq is owed, for the reason in msg (debt.go)
	recHold                        // path's delete is held (hold.go); flags: bit 0 directory, bit 1 released; seq: since (Unix ms); msg: the hold's reason
)

const (
	journalMagic   = "mirrorfs-journal"
	journalVersion = 1
	maxRecord      = 1 << 20 // a path is < 4 KiB; anything larger is corruption
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// record is one decoded journal record.
type record struct {
	kind      recKind
	seq       uint64 // recAdd: the change; recAck, recFull: the limit
	recursive bool
	kinds     change.Kinds // recAdd: what the path saw
	attempts  int
	path, msg string
}

// appendRecord encodes r onto b. The frame is reserved first and filled in
// once the payload length is known, so encoding allocates nothing when b
// has room.
func appendRecord(b []byte, r *record) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, byte(r.kind))
	switch r.kind {
	case recHeader:
		b = appendString(b, journalMagic)
		b = binary.AppendUvarint(b, journalVersion)
	case recAdd, recAck:
		flags := uint64(r.kinds) << kindsShift
		if r.recursive {
			flags |= 1
		}
		b = binary.AppendUvarint(b, r.seq)
		b = binary.AppendUvarint(b, flags)
		b = appendString(b, r.path)
	case recFail:
		b = binary.AppendUvarint(b, uint64(r.attempts))
		b = appendString(b, r.path)
		b = appendString(b, r.msg)
	case recFull, recOverflow:
		b = binary.AppendUvarint(b, r.seq)
	case recOwed:
		b = binary.AppendUvarint(b, r.seq)
		b = appendString(b, r.msg)
	case recHold:
		var flags uint64
		if r.recursive {
			flags |= 1
		}
		if r.attempts != 0 {
			flags |= 2
		}
		b = binary.AppendUvarint(b, flags)
		b = binary.AppendUvarint(b, r.seq)
		b = appendString(b, r.path)
		b = appendString(b, r.msg)
	}
	payload := b[start+8:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(payload, crcTable))
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errTorn = errors.New("torn or corrupt record")

// decodeRecord reads one record from b and returns the bytes it used.
func decodeRecord(b []byte, r *record) (int, error) {
	if len(b) < 8 {
		return 0, errTorn
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0 || n > maxRecord || int(n) > len(b)-8 {
		return 0, errTorn
	}
	payload := b[8 : 8+n]
	if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(b[4:]) {
		return 0, errTorn
	}
	d := decoder{b: payload[1:]}
	*r = record{kind: recKind(payload[0])}
	switch r.kind {
	case recHeader:
		if d.str() != journalMagic {
			return 0, errors.New("not a mirrorfs journal")
		}
		if v := d.uvarint(); v != journalVersion {
			return 0, errors.New("journal written by an incompatible mirrorfs version")
		}
	case recAdd, recAck:
		r.seq = d.uvarint()
		flags := d.uvarint()
		r.recursive = flags&1 != 0
		r.kinds = change.Kinds(flags>>kindsShift) | oldOpKinds[flags>>1&oldOpMask]
		r.path = d.str()
	case recFail:
		r.attempts = int(d.uvarint())
		r.path = d.str()
		r.msg = d.str()
	case recFull, recOverflow:
		r.seq = d.uvarint()
	case recOwed:
		r.seq = d.uvarint()
		r.msg = d.str()
	case recHold:
		flags := d.uvarint()
		r.recursive = flags&1 != 0
		if flags&2 != 0 {
			r.attempts = 1
		}
		r.seq = d.uvarint()
		r.path = d.str()
		r.msg = d.str()
	case recClean:
	default:
		return 0, errTorn
	}
	if d.bad {
		return 0, errTorn
	}
	return 8 + int(n), nil
}

type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)) {
		d.bad = true
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

const (
	kindsShift = 5
	oldOpMask  = 1<<(kindsShift-1) - 1
)

// oldOpKinds reads the ops of journals written before change.Kinds: the
// engine's own Op, numbered as then (7 marked a rename's old name).
var oldOpKinds = [oldOpMask + 1]change.Kinds{
	1: change.Of(change.Create),
	2: change.Of(change.Modify),
	3: change.Of(change.Attrib),
	4: change.Of(change.Delete),
	5: change.Of(change.MovedTo),
	6: change.Of(change.MovedFrom, change.MovedTo),
	7: change.Of(change.MovedFrom),
}
