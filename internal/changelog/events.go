package changelog

import (
	"fmt"
	"strings"

	"github.com/mirrorfs/mirrorfs/mirror"
)

// Events selects which shipped changes are logged (--events).
type Events mirror.Change

// AllEvents logs every change.
const AllEvents = Events(mirror.ChangeCreate | mirror.ChangeModify | mirror.ChangeAttrib |
	mirror.ChangeDelete | mirror.ChangeMovedFrom | mirror.ChangeMovedTo)

// eventNames are inotifywait's -e names that mean a change mirrorfs sees.
// mirrorfs learns of writes when the file is closed (or periodically for a
// long-open writer), so modify, close_write and close mean the same here.
var eventNames = map[string]mirror.Change{
	"create":      mirror.ChangeCreate,
	"delete":      mirror.ChangeDelete,
	"modify":      mirror.ChangeModify,
	"close_write": mirror.ChangeModify,
	"close":       mirror.ChangeModify,
	"attrib":      mirror.ChangeAttrib,
	"moved_to":    mirror.ChangeMovedTo,
	"moved_from":  mirror.ChangeMovedFrom,
	"move":        mirror.ChangeMovedTo | mirror.ChangeMovedFrom,
	"all_events":  mirror.Change(AllEvents),
	"all":         mirror.Change(AllEvents),
}

// notChanges are inotify events that are no change to the data.
var notChanges = map[string]bool{
	"access": true, "open": true, "close_nowrite": true, "delete_self": true,
	"move_self": true, "unmount": true,
}

// ParseEvents parses a comma-separated list like inotifywait's -e
// ("create,delete,moved_to,close_write,attrib"); "" selects all.
func ParseEvents(s string) (Events, error) {
	if strings.TrimSpace(s) == "" {
		return AllEvents, nil
	}
	var ev Events
	for _, name := range strings.Split(s, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		c, ok := eventNames[name]
		switch {
		case ok:
			ev |= Events(c)
		case notChanges[name]:
			return 0, fmt.Errorf("event %q is not a change to the data: mirrorfs logs changes only (create, delete, modify, close_write, attrib, moved_to, moved_from, move)", name)
		default:
			return 0, fmt.Errorf("unknown event %q (use create, delete, modify, close_write, close, attrib, moved_to, moved_from, move or all_events)", name)
		}
	}
	return ev, nil
}

// Names renders a change in inotifywait's words and order, e.g.
// "CLOSE_WRITE,CLOSE" or "CREATE,ISDIR".
func Names(c mirror.Change, sep string) string {
	var out []string
	add := func(bit mirror.Change, names ...string) {
		if c&bit != 0 {
			out = append(out, names...)
		}
	}
	add(mirror.ChangeModify, "MODIFY")
	add(mirror.ChangeAttrib, "ATTRIB")
	add(mirror.ChangeModify, "CLOSE_WRITE", "CLOSE")
	add(mirror.ChangeMovedFrom, "MOVED_FROM")
	add(mirror.ChangeMovedTo, "MOVED_TO")
	add(mirror.ChangeCreate, "CREATE")
	add(mirror.ChangeDelete, "DELETE")
	if len(out) > 0 {
		add(mirror.ChangeDir, "ISDIR")
	}
	return strings.Join(out, sep)
}
