package changelog

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeFmt is the ops article's --timefmt.
const DefaultTimeFmt = "%Y-%m-%d %H:%M"

// TimeFmt is a parsed strftime subset: %Y %y %m %d %H %M %S %F %T %s %%.
type TimeFmt struct{ layout []tfPart }

type tfPart struct {
	lit  string
	verb byte
}

// ParseTimeFmt parses a --timefmt value.
func ParseTimeFmt(s string) (TimeFmt, error) {
	var tf TimeFmt
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			tf.layout = append(tf.layout, tfPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return tf, fmt.Errorf("timefmt %q ends with a lone %%: write %%%% for a percent sign", s)
		}
		i++
		switch c := s[i]; c {
		case '%':
			lit.WriteByte('%')
		case 'Y', 'y', 'm', 'd', 'H', 'M', 'S', 'F', 'T', 's':
			flush()
			tf.layout = append(tf.layout, tfPart{verb: c})
		default:
			return tf, fmt.Errorf("timefmt %q: %%%c is not supported (use %%Y %%y %%m %%d %%H %%M %%S %%F %%T %%s %%%%)", s, c)
		}
	}
	flush()
	return tf, nil
}

// Format renders t in local time.
func (tf TimeFmt) Format(t time.Time) string {
	var b strings.Builder
	tf.append(&b, t)
	return b.String()
}

func (tf TimeFmt) append(b *strings.Builder, t time.Time) {
	t = t.Local()
	two := func(n int) { fmt.Fprintf(b, "%02d", n) }
	for _, p := range tf.layout {
		switch p.verb {
		case 0:
			b.WriteString(p.lit)
		case 'Y':
			fmt.Fprintf(b, "%04d", t.Year())
		case 'y':
			two(t.Year() % 100)
		case 'm':
			two(int(t.Month()))
		case 'd':
			two(t.Day())
		case 'H':
			two(t.Hour())
		case 'M':
			two(t.Minute())
		case 'S':
			two(t.Second())
		case 'F':
			b.WriteString(t.Format(time.DateOnly))
		case 'T':
			b.WriteString(t.Format(time.TimeOnly))
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		}
	}
}
