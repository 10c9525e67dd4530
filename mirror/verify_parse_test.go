package mirror

import (
	"reflect"
	"slices"
	"testing"
	"unicode/utf8"
)

func TestParseItem(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
		want Difference
	}{
		{verifyMark + "*deleting   xd/1", true, Difference{Path: "xd/1", Kind: DiffExtra, Item: "*deleting  "}},
		{verifyMark + "*deleting   xd/", true, Difference{Path: "xd", Kind: DiffExtra, Dir: true, Item: "*deleting  "}},
		{verifyMark + ".d..t...... ./", true, Difference{Path: ".", Kind: DiffAttributes, Dir: true, Item: ".d..t......"}},
		{verifyMark + ".f...p..... -dash", true, Difference{Path: "-dash", Kind: DiffAttributes, Item: ".f...p....."}},
		{verifyMark + "<f+++++++++ a", true, Difference{Path: "a", Kind: DiffMissing, Item: "<f+++++++++"}},
		{verifyMark + "cd+++++++++ new dir/", true, Difference{Path: "new dir", Kind: DiffMissing, Dir: true, Item: "cd+++++++++"}},
		{verifyMark + "<fc.t...... b", true, Difference{Path: "b", Kind: DiffContent, Item: "<fc.t......"}},
		{verifyMark + "<f.st...... grown", true, Difference{Path: "grown", Kind: DiffContent, Item: "<f.st......"}},
		{verifyMark + "cLc.t...... lnk", true, Difference{Path: "lnk", Kind: DiffContent, Item: "cLc.t......"}},
		{verifyMark + "<fcst...... new\\#012line", true, Difference{Path: "new\nline", Kind: DiffContent, Item: "<fcst......"}},
		{verifyMark + "<fc.t...... back\\#134#012slash", true, Difference{Path: `back\#012slash`, Kind: DiffContent, Item: "<fc.t......"}},
		{verifyMark + "<fc.t...... \xff\xfe", true, Difference{Path: "\xff\xfe", Kind: DiffContent, Item: "<fc.t......"}},
		{verifyMark + "<fc.t...... t\tab", true, Difference{Path: "t\tab", Kind: DiffContent, Item: "<fc.t......"}},
		{"Number of files: 11 (reg: 7, dir: 3, link: 1)", false, Difference{}},
		{"<fc.t...... no mark", false, Difference{}},
		{verifyMark + "short", false, Difference{}},
		{"", false, Difference{}},
	}
	for _, tt := range tests {
		got, ok := parseItem([]byte(tt.line))
		if !utf8.ValidString(tt.want.Path) {
			tt.want.PathBytes = []byte(tt.want.Path)
		}
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseItem(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func TestVerifyArgs(t *testing.T) {
	tests := []struct {
		backup string
		want   []string
	}{
		{"", []string{"-n", "-c", "--delete", "--force", noIncRecursive, "--out-format=" + verifyMark + "%i %n"}},
		{"/.versions/", []string{"-n", "-c", "--delete", "--force", noIncRecursive, "--out-format=" + verifyMark + "%i %n", "--filter=- /.versions/"}},
		{"v[1]", []string{"-n", "-c", "--delete", "--force", noIncRecursive, "--out-format=" + verifyMark + "%i %n", `--filter=- /v\[1]/`}},
	}
	for _, tt := range tests {
		if got := verifyArgs(&Config{BackupDir: tt.backup}); !slices.Equal(got, tt.want) {
			t.Errorf("BackupDir %q: %q, want %q", tt.backup, got, tt.want)
		}
	}
}

func TestVerifyUnsure(t *testing.T) {
	v := verifyState{running: true, touched: map[string]struct{}{}, parents: map[string]struct{}{}}
	v.note("a/b/c")
	v.note("top")
	v.note("d")
	tests := []struct {
		path string
		want bool
	}{
		{"a/b/c", true},   // touched
		{"a/b", true},     // its directory: the mtime moved
		{"a", false},      // two levels up: untouched
		{"d/x/y", true},   // below a touched (maybe renamed) directory
		{".", true},       // the directory of top-level names
		{"other", false},  // nothing known
		{"a/b/cd", false}, // a sibling with a common prefix
	}
	for _, tt := range tests {
		if got := v.unsure(tt.path); got != tt.want {
			t.Errorf("unsure(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// Files deleted under a verify are changing paths, not a failure; any
// other per-path problem leaves the result incomplete.
func TestVanishedOnly(t *testing.T) {
	d := Destination{Kind: DestDaemon, Host: "h", Module: "m"}
	partial := &RsyncError{Code: 24, Class: ClassPartial}
	tests := []struct {
		name   string
		stderr string
		rerr   *RsyncError
		want   []string
		ok     bool
	}{
		{"vanished", "file has vanished: \"/proc/self/fd/3/busy/f1\"\nrsync warning: some files vanished before they could be transferred (code 24) at main.c(1394) [sender=3.5.0]\n", partial, []string{"busy/f1"}, true},
		{"unreadable too", "file has vanished: \"/proc/self/fd/3/a\"\nrsync: [sender] send_files failed to open \"/proc/self/fd/3/b\": Permission denied (13)\n", partial, nil, false},
		{"no error", "", nil, nil, false},
		{"whole run failed", "", &RsyncError{Code: 10, Class: ClassConnect}, nil, false},
	}
	for _, tt := range tests {
		got, ok := vanishedOnly(result{stderr: []byte(tt.stderr)}, tt.rerr, d)
		if ok != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q %v, want %q %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
