package changelog

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/mirrorfs/mirrorfs/mirror"
)

// DefaultFormat is a line like inotifywait's with the article's -o log.
const DefaultFormat = "%T %w%f %e"

// Format is a parsed --format. inotifywait's fields:
//
//	%T  time of the change, per --timefmt   %w  directory, with a trailing /
//	%f  name inside %w ("" for the root)    %e  events, comma-separated
//	%Xe events separated by the character X
//
// mirrorfs's fields: %S ship time per --timefmt, %R result (ok or failed),
// %B batch number, %p path relative to the root. %{FMT}T and %{FMT}S take
// their own strftime format, for lines holding the date and the time apart.
type Format struct {
	parts  []fmtPart
	hasRes bool
}

type fmtPart struct {
	lit  string
	verb byte   // 0: literal
	sep  string // %Xe
	tf   *TimeFmt
}

// ParseFormat parses a --format value.
func ParseFormat(s string) (Format, error) {
	var f Format
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.parts = append(f.parts, fmtPart{lit: lit.String()})
			lit.Reset()
		}
	}
	bad := func(what string) (Format, error) {
		return Format{}, fmt.Errorf("format %q: %s (fields: %%T %%w %%f %%e %%Xe %%S %%R %%B %%p %%{TIMEFMT}T %%{TIMEFMT}S %%%%)", s, what)
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			return bad("ends with a lone %")
		}
		i++
		c := s[i]
		switch {
		case c == '%':
			lit.WriteByte('%')
		case strings.IndexByte("TwfeSRBp", c) >= 0:
			flush()
			f.parts = append(f.parts, fmtPart{verb: c})
			f.hasRes = f.hasRes || c == 'R'
		case c == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 || i+end+1 >= len(s) || (s[i+end+1] != 'T' && s[i+end+1] != 'S') {
				return bad("%{...} must be followed by T or S")
			}
			tf, err := ParseTimeFmt(s[i+1 : i+end])
			if err != nil {
				return Format{}, err
			}
			flush()
			f.parts = append(f.parts, fmtPart{verb: s[i+end+1], tf: &tf})
			i += end + 1
		case i+1 < len(s) && s[i+1] == 'e':
			flush()
			f.parts = append(f.parts, fmtPart{verb: 'e', sep: string(c)})
			i++
		default:
			return bad(fmt.Sprintf("%%%c is not a field", c))
		}
	}
	flush()
	return f, nil
}

// HasResult reports whether the format shows %R: only then are failed
// paths logged, so a line never looks like a success that was not one.
func (f Format) HasResult() bool { return f.hasRes }

// line renders one shipped path. root is the mountpoint, for %w.
func (f Format) line(b *strings.Builder, s mirror.Shipped, root string, tf TimeFmt) {
	dir, name := "", ""
	if s.Path == "." {
		dir = strings.TrimSuffix(root, "/") + "/"
	} else {
		d, n := path.Split(s.Path)
		dir, name = strings.TrimSuffix(root, "/")+"/"+d, n
	}
	for _, p := range f.parts {
		switch p.verb {
		case 0:
			b.WriteString(p.lit)
		case 'T', 'S':
			t := s.Last
			if p.verb == 'S' {
				t = s.Time
			}
			use := tf
			if p.tf != nil {
				use = *p.tf
			}
			use.append(b, t)
		case 'w':
			b.WriteString(dir)
		case 'f':
			b.WriteString(name)
		case 'p':
			b.WriteString(s.Path)
		case 'e':
			sep := ","
			if p.sep != "" {
				sep = p.sep
			}
			b.WriteString(Names(s.Changes, sep))
		case 'R':
			if s.Err == "" {
				b.WriteString("ok")
			} else {
				b.WriteString("failed")
			}
		case 'B':
			b.WriteString(strconv.FormatUint(s.Batch, 10))
		}
	}
}

// Line renders one shipped path with a time format, for tests and tools.
func (f Format) Line(s mirror.Shipped, root string, tf TimeFmt) string {
	var b strings.Builder
	f.line(&b, s, root, tf)
	return b.String()
}
