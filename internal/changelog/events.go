package changelog

import (
	"fmt"
	"strings"

	"github.com/mirrorfs/mirrorfs/internal/change"
)

// mirrorfs learns of writes when the file is closed (or periodically for a
// long-open writer), so modify, close_write and close mean the same here.
var written = change.Of(change.Modify, change.CloseWrite)

// AllEvents logs every change.
var AllEvents = change.Of(change.Create, change.Delete, change.Attrib, change.MovedFrom, change.MovedTo) | written

// eventAliases are inotifywait's -e names that are no kind of their own.
var eventAliases = map[string]change.Kinds{
	"close":      written,
	"move":       change.Of(change.MovedTo, change.MovedFrom),
	"all_events": AllEvents,
	"all":        AllEvents,
}

// notChanges are inotify events that are no change to the data.
var notChanges = map[string]bool{
	"access": true, "open": true, "close_nowrite": true, "delete_self": true,
	"move_self": true, "unmount": true,
}

// ParseEvents parses a comma-separated list like inotifywait's -e
// ("create,delete,moved_to,close_write,attrib"); "" selects all.
func ParseEvents(s string) (change.Kinds, error) {
	if strings.TrimSpace(s) == "" {
		return AllEvents, nil
	}
	var ev change.Kinds
	for _, name := range strings.Split(s, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		k, ok := change.ParseKind(name)
		switch {
		case ok && k != change.IsDir:
			ev |= change.Of(k)
			if written.Has(k) {
				ev |= written
			}
		case eventAliases[name] != 0:
			ev |= eventAliases[name]
		case notChanges[name]:
			return 0, fmt.Errorf("event %q is not a change to the data: mirrorfs logs changes only (create, delete, modify, close_write, attrib, moved_to, moved_from, move)", name)
		default:
			return 0, fmt.Errorf("unknown event %q (use create, delete, modify, close_write, close, attrib, moved_to, moved_from, move or all_events)", name)
		}
	}
	return ev, nil
}

// Names renders kinds in inotifywait's words and order, e.g.
// "MODIFY,CLOSE_WRITE,CLOSE" for a write or "CREATE,ISDIR".
func Names(c change.Kinds, sep string) string {
	var out []string
	add := func(set change.Kinds, names ...string) {
		if c&set != 0 {
			out = append(out, names...)
		}
	}
	add(written, change.Modify.String())
	add(change.Of(change.Attrib), change.Attrib.String())
	add(written, change.CloseWrite.String(), "CLOSE")
	add(change.Of(change.MovedFrom), change.MovedFrom.String())
	add(change.Of(change.MovedTo), change.MovedTo.String())
	add(change.Of(change.Create), change.Create.String())
	add(change.Of(change.Delete), change.Delete.String())
	if len(out) > 0 {
		add(change.Of(change.IsDir), change.IsDir.String())
	}
	return strings.Join(out, sep)
}
