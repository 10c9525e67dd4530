package mirror

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// DiffKind says how a path differs between the source and the destination.
type DiffKind string

const (
	DiffContent    DiffKind = "content"    // the data (or a symlink's target) differs
	DiffAttributes DiffKind = "attributes" // same data; mode, times, owner, xattrs, ACLs or hard links differ
	DiffMissing    DiffKind = "missing"    // in the source, not on the destination
	DiffExtra      DiffKind = "extra"      // on the destination, not in the source
)

// Difference is one path that is not equal on the destination.
type Difference struct {
	Path string   `json:"path"` // relative to the root, "." for the root
	Kind DiffKind `json:"kind"`
	Dir  bool     `json:"dir,omitempty"`
	Item string   `json:"item"` // rsync's itemized change string, e.g. ">fc.t......"
	// PathBytes holds Path when it is not valid UTF-8, which JSON strings
	// cannot carry (base64 in JSON); nil otherwise.
	PathBytes []byte `json:"path_bytes,omitempty"`
}

// verifyMark starts every itemized line of a verify run (--out-format):
// names cannot forge it, because rsync escapes a newline in a name.
const verifyMark = "mirrorfs-diff: "

// itemLen is the length of rsync's %i (protocol 29 and later).
const itemLen = 11

// parseItem reads one --out-format line "<mark>%i %n"; ok is false for
// any other line (the --stats block, rsync's own messages).
func parseItem(line []byte) (d Difference, ok bool) {
	rest, found := bytes.CutPrefix(line, []byte(verifyMark))
	if !found || len(rest) < itemLen+2 || rest[itemLen] != ' ' {
		return d, false
	}
	item, name := string(rest[:itemLen]), unescape(string(rest[itemLen+1:])) // \#ooo escapes (classify.go)
	if strings.HasSuffix(name, "/") {
		d.Dir = true
		name = strings.TrimSuffix(name, "/")
	}
	if name == "" || name == "." {
		name = "."
		d.Dir = true
	}
	d.Path, d.Item, d.Kind = name, item, itemKind(item)
	if !utf8.ValidString(name) {
		d.PathBytes = []byte(name)
	}
	return d, true
}

// itemKind classifies an itemized change string (rsync(1), --itemize-changes):
// YXcstpoguax, Y the update type, X the file type.
func itemKind(item string) DiffKind {
	y, attrs := item[0], item[2:]
	switch {
	case y == '*': // "*deleting"
		return DiffExtra
	case strings.Trim(attrs, "+") == "":
		return DiffMissing
	case item[1] == 'f' && (attrs[0] == 'c' || attrs[1] == 's'):
		return DiffContent
	case item[1] == 'L' && attrs[0] == 'c':
		return DiffContent
	}
	return DiffAttributes
}
