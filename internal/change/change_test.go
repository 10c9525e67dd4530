package change

import "testing"

func TestKinds(t *testing.T) {
	tests := []struct {
		c          Change
		path, from string
	}{
		{Change{Op: OpCreate, Path: "f"}, "CREATE", ""},
		{Change{Op: OpMkdir, Path: "d", Dir: true}, "CREATE,ISDIR", ""},
		{Change{Op: OpMknod, Path: "p"}, "CREATE", ""},
		{Change{Op: OpSymlink, Path: "l"}, "CREATE", ""},
		{Change{Op: OpLink, Path: "b", From: "a"}, "CREATE", ""},
		{Change{Op: OpUnlink, Path: "f"}, "DELETE", ""},
		{Change{Op: OpRmdir, Path: "d", Dir: true}, "DELETE,ISDIR", ""},
		{Change{Op: OpRename, Path: "b", From: "a"}, "MOVED_TO", "MOVED_FROM"},
		{Change{Op: OpRename, Path: "e", From: "d", Dir: true}, "MOVED_TO,ISDIR", "MOVED_FROM"},
		{Change{Op: OpExchange, Path: "b", From: "a", Dir: true}, "MOVED_FROM,MOVED_TO", "MOVED_FROM,MOVED_TO"},
		{Change{Op: OpWrite, Path: "f"}, "CLOSE_WRITE", ""},
		{Change{Op: OpTruncate, Path: "f"}, "MODIFY", ""},
		{Change{Op: OpSetattr, Path: "d", Dir: true}, "ATTRIB", ""},
		{Change{Op: OpSetxattr, Path: "f"}, "ATTRIB", ""},
		{Change{Op: OpRemovexattr, Path: "f"}, "ATTRIB", ""},
		{Change{Op: 0, Path: "f"}, "", ""},
		{Change{Op: 200, Path: "f"}, "", ""},
	}
	for _, tc := range tests {
		p, f := tc.c.Kinds()
		if p.String() != tc.path || f.String() != tc.from {
			t.Errorf("%v: kinds %q, %q; want %q, %q", tc.c, p, f, tc.path, tc.from)
		}
	}
}

func TestNames(t *testing.T) {
	for k := Kind(0); k < NumKinds; k++ {
		got, ok := ParseKind(k.String())
		if !ok || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, ok)
		}
	}
	if k, ok := ParseKind("close_write"); !ok || k != CloseWrite {
		t.Errorf("ParseKind(close_write) = %v, %v", k, ok)
	}
	if _, ok := ParseKind("access"); ok {
		t.Error("ParseKind(access) accepted")
	}
	if got := Of(Delete, IsDir, Create).String(); got != "CREATE,DELETE,ISDIR" {
		t.Errorf("String = %q", got)
	}
	if got := Op(99).String(); got != "op?" {
		t.Errorf("Op(99) = %q", got)
	}
}
