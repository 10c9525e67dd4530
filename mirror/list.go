package mirror

// Entries sit on intrusive doubly linked lists so moving one to the tail
// (a new change) or unlinking it (taken into a batch) is O(1).
type link struct{ prev, next *entry }

const (
	lByLast  = 0 // ordered by last change (debounce); also the backoff list
	lByFirst = 1 // ordered by first change (max delay)
)

type elist struct {
	head, tail *entry
	n          int
	which      int
}

func (l *elist) pushBack(e *entry) {
	lk := &e.links[l.which]
	lk.prev, lk.next = l.tail, nil
	if l.tail != nil {
		l.tail.links[l.which].next = e
	} else {
		l.head = e
	}
	l.tail = e
	l.n++
}

func (l *elist) remove(e *entry) {
	lk := &e.links[l.which]
	if lk.prev != nil {
		lk.prev.links[l.which].next = lk.next
	} else {
		l.head = lk.next
	}
	if lk.next != nil {
		lk.next.links[l.which].prev = lk.prev
	} else {
		l.tail = lk.prev
	}
	lk.prev, lk.next = nil, nil
	l.n--
}

func (l *elist) insertBefore(e, mark *entry) {
	lk := &e.links[l.which]
	prev := mark.links[l.which].prev
	lk.prev, lk.next = prev, mark
	mark.links[l.which].prev = e
	if prev != nil {
		prev.links[l.which].next = e
	} else {
		l.head = e
	}
	l.n++
}

// insertSorted puts e before the first element for which after is true.
func (l *elist) insertSorted(e *entry, after func(*entry) bool) {
	for c := l.head; c != nil; c = c.links[l.which].next {
		if after(c) {
			l.insertBefore(e, c)
			return
		}
	}
	l.pushBack(e)
}
