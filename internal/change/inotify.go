package change

// What inotify reports for each operation, at Path and at From. mirrorfs
// learns of a write when the file is closed (or every max-delay while it
// stays open), so a write is CLOSE_WRITE; a truncation is MODIFY. A hard
// link's old name gets nothing: its link count changes on the inode, and
// inotify tells only the watchers of that inode.
var opKinds = [...]struct {
	path, from Kinds
	dir        bool // ISDIR qualifies Path when Dir is set
}{
	OpCreate:      {path: Of(Create), dir: true},
	OpMkdir:       {path: Of(Create), dir: true},
	OpMknod:       {path: Of(Create), dir: true},
	OpSymlink:     {path: Of(Create), dir: true},
	OpLink:        {path: Of(Create)},
	OpUnlink:      {path: Of(Delete), dir: true},
	OpRmdir:       {path: Of(Delete), dir: true},
	OpRename:      {path: Of(MovedTo), from: Of(MovedFrom), dir: true},
	OpExchange:    {path: Of(MovedFrom, MovedTo), from: Of(MovedFrom, MovedTo)}, // two moves; Dir describes one side only
	OpWrite:       {path: Of(CloseWrite)},
	OpTruncate:    {path: Of(Modify)},
	OpSetattr:     {path: Of(Attrib)},
	OpSetxattr:    {path: Of(Attrib)},
	OpRemovexattr: {path: Of(Attrib)},
}

// Kinds returns what inotify reports for c at c.Path and at c.From.
func (c Change) Kinds() (path, from Kinds) {
	if int(c.Op) >= len(opKinds) {
		return 0, 0
	}
	m := opKinds[c.Op]
	path, from = m.path, m.from
	if m.dir && c.Dir {
		path |= Of(IsDir)
	}
	return path, from
}
