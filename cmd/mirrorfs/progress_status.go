package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mirrorfs/mirrorfs/mirror"
)

// printRunProgress shows, in status, how far the running rsync got: the
// initial sync, a reconcile, or the run shipping the queue.
func printRunProgress(w io.Writer, st mirror.Status, now time.Time) {
	for _, r := range []struct {
		what string
		p    *mirror.FullProgress
	}{{"initial sync", st.InitialSync.Progress}, {"full sync", st.Reconcile.Progress}, {"shipping", st.Shipping}} {
		if r.p != nil {
			fmt.Fprintf(w, "  progress\t%s: %s\n", r.what, fullProgressText(*r.p, now))
		}
	}
}

func fullProgressText(p mirror.FullProgress, now time.Time) string {
	files := "building the file list"
	if p.Files > 0 {
		files = fmt.Sprintf("%s of %s files checked", group(p.Checked), group(p.Files))
	}
	return fmt.Sprintf("%s, %s sent (%s), for %s", files, group(p.Transferred), bytesHuman(p.Bytes), since(now, p.Started))
}

// printVerifyStatus shows the last verify and the next one.
func printVerifyStatus(w io.Writer, v mirror.VerifyStatus, now time.Time) {
	var b strings.Builder
	switch {
	case v.Running:
		b.WriteString("running")
	case v.Last == nil:
		b.WriteString("never run")
	case v.Differences == 0:
		fmt.Fprintf(&b, "equal (%s ago)", since(now, *v.Last))
	default:
		fmt.Fprintf(&b, "%d difference(s) %s ago", v.Differences, since(now, *v.Last))
		if len(v.Paths) > 0 {
			var shown []string
			for _, p := range v.Paths[:min(len(v.Paths), 3)] {
				shown = append(shown, displayPath(p))
			}
			fmt.Fprintf(&b, ": %s", strings.Join(shown, ", "))
			if v.Differences > len(shown) {
				b.WriteString(", ...")
			}
		}
	}
	if v.Error != "" {
		fmt.Fprintf(&b, "; incomplete: %s", v.Error)
	}
	if v.Next != nil {
		fmt.Fprintf(&b, "; next in %s", v.Next.Sub(now).Round(time.Second))
	}
	if v.Running || v.Last != nil || v.Next != nil {
		fmt.Fprintf(w, "  verify\t%s\n", b.String())
	}
}

// group writes n with thousands separators: 12,345.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
