package change

import "strings"

// Kind is an inotify event type: how inotify reports a change.
type Kind uint8

const (
	Create Kind = iota
	Modify
	Attrib
	CloseWrite
	MovedFrom
	MovedTo
	Delete
	IsDir    // qualifies the others: a directory was created, removed or moved to the path
	NumKinds // not a kind
)

var kindNames = [NumKinds]string{"CREATE", "MODIFY", "ATTRIB", "CLOSE_WRITE", "MOVED_FROM", "MOVED_TO", "DELETE", "ISDIR"}

// String is inotify's name of k, e.g. CLOSE_WRITE.
func (k Kind) String() string {
	if k < NumKinds {
		return kindNames[k]
	}
	return "KIND?"
}

// ParseKind reads a name as String writes it, in either case.
func ParseKind(name string) (Kind, bool) {
	for k, n := range kindNames {
		if strings.EqualFold(n, name) {
			return Kind(k), true
		}
	}
	return 0, false
}

// Kinds is a set of kinds.
type Kinds uint16

// Of returns the set of ks.
func Of(ks ...Kind) Kinds {
	var s Kinds
	for _, k := range ks {
		s |= 1 << k
	}
	return s
}

func (s Kinds) Has(k Kind) bool { return s&(1<<k) != 0 }

// Each calls fn for every kind in s, in Kind order.
func (s Kinds) Each(fn func(Kind)) {
	for k := Kind(0); k < NumKinds; k++ {
		if s.Has(k) {
			fn(k)
		}
	}
}

// String lists the names in Kind order, comma-separated: "CREATE,ISDIR".
func (s Kinds) String() string {
	var b strings.Builder
	s.Each(func(k Kind) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k.String())
	})
	return b.String()
}
