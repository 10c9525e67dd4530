package changelog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/change"
	"github.com/mirrorfs/mirrorfs/mirror"
)

var when = time.Date(2024, 12, 7, 10, 9, 8, 0, time.Local)

func TestFormatLines(t *testing.T) {
	s := mirror.Shipped{Path: "d/a.txt", Changes: change.Of(change.Create, change.CloseWrite), Last: when, Time: when.Add(time.Minute), Batch: 7}
	tests := []struct {
		format, timefmt string
		s               mirror.Shipped
		want            string
	}{
		{DefaultFormat, DefaultTimeFmt, s, "2024-12-07 10:09 /data/d/a.txt MODIFY,CLOSE_WRITE,CLOSE,CREATE"},
		// the article's inotifywait --format, read by its script as DATE TIME DIR FILE
		{"%T %w %f", "%Y-%m-%d %H:%M", s, "2024-12-07 10:09 /data/d/ a.txt"},
		// the article's changelist.log line, from one --format string
		{"At %{%H:%M}T on %{%Y-%m-%d}T, file %w%f was backed up via rsync", "", s,
			"At 10:09 on 2024-12-07, file /data/d/a.txt was backed up via rsync"},
		{"%T %w%f event: %;e", "%F %H:%M", s, "2024-12-07 10:09 /data/d/a.txt event: MODIFY;CLOSE_WRITE;CLOSE;CREATE"},
		{"%S %R %B %p", "%F %T", s, "2024-12-07 10:10:08 ok 7 d/a.txt"},
		{"%w|%f|%e", "%s", mirror.Shipped{Path: ".", Changes: change.Of(change.Attrib, change.IsDir)}, "/data/||ATTRIB,ISDIR"},
		{"%f %e", "", mirror.Shipped{Path: "x", Changes: change.Of(change.MovedTo, change.IsDir)}, "x MOVED_TO,ISDIR"},
		{"%T %%", "%y%m%d", s, "241207 %"},
	}
	for _, tc := range tests {
		f, err := ParseFormat(tc.format)
		if err != nil {
			t.Fatalf("ParseFormat(%q): %v", tc.format, err)
		}
		tf, err := ParseTimeFmt(def(tc.timefmt, DefaultTimeFmt))
		if err != nil {
			t.Fatalf("ParseTimeFmt(%q): %v", tc.timefmt, err)
		}
		if got := f.Line(tc.s, "/data", tf); got != tc.want {
			t.Errorf("format %q timefmt %q:\n got %q\nwant %q", tc.format, tc.timefmt, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, f := range []string{"%", "%q", "%{%H}X"} {
		if _, err := ParseFormat(f); err == nil {
			t.Errorf("ParseFormat(%q) accepted", f)
		}
	}
	for _, f := range []string{"%Q", "%"} {
		if _, err := ParseTimeFmt(f); err == nil {
			t.Errorf("ParseTimeFmt(%q) accepted", f)
		}
	}
	for _, e := range []string{"access", "open,create", "bogus"} {
		if _, err := ParseEvents(e); err == nil {
			t.Errorf("ParseEvents(%q) accepted", e)
		}
	}
}

func TestLoggerSelectsEvents(t *testing.T) {
	file := filepath.Join(t.TempDir(), "changelist.log")
	l, err := New(Options{File: file, Format: "%p %e", Events: "create,moved_to", Root: "/data"})
	if err != nil {
		t.Fatal(err)
	}
	l.Shipped([]mirror.Shipped{
		{Path: "new", Changes: change.Of(change.Create)},
		{Path: "chmodded", Changes: change.Of(change.Attrib)},
		{Path: "moved", Changes: change.Of(change.MovedTo)},
		{Path: "failed", Changes: change.Of(change.Create), Err: "permission denied", Attempts: 1},
	})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(file)
	if want := "new CREATE\nmoved MOVED_TO\n"; string(got) != want {
		t.Errorf("change log:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(Names(change.Of(change.Delete, change.IsDir), ","), "DELETE,ISDIR") {
		t.Errorf("Names: want DELETE,ISDIR")
	}
}

func TestParseEvents(t *testing.T) {
	written := change.Of(change.Modify, change.CloseWrite)
	tests := []struct {
		in   string
		want change.Kinds
	}{
		{"", AllEvents},
		{"create", change.Of(change.Create)},
		{"modify", written},
		{"close_write", written},
		{"CLOSE", written},
		{"moved_to, moved_from", change.Of(change.MovedTo, change.MovedFrom)},
		{"move,delete", change.Of(change.MovedTo, change.MovedFrom, change.Delete)},
		{"attrib", change.Of(change.Attrib)},
		{"all_events", AllEvents},
	}
	for _, tc := range tests {
		if got, err := ParseEvents(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseEvents(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := ParseEvents("isdir"); err == nil {
		t.Error("ParseEvents(isdir) accepted")
	}
	if AllEvents.Has(change.IsDir) {
		t.Error("AllEvents selects ISDIR on its own")
	}
	for _, k := range []change.Kinds{change.Of(change.Modify), change.Of(change.CloseWrite)} {
		if got := Names(k, ","); got != "MODIFY,CLOSE_WRITE,CLOSE" {
			t.Errorf("Names(%v) = %q", k, got)
		}
	}
}
