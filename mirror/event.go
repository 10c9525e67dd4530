package mirror

// Op is what happened to a path, in the engine's terms.
type Op uint8

const (
	OpCreate   Op = iota + 1 // a new object appeared at Path (file, dir, node, symlink, hard link)
	OpModify                 // content of Path changed
	OpAttrib                 // metadata of Path changed (mode, owner, times, xattrs)
	OpDelete                 // Path removed
	OpRename                 // From moved to Path
	OpExchange               // From and Path swapped
	_                        // 7: opMovedFrom, an entry's history only (shipped.go)
	OpLink                   // a hard link: Path is a new name of From's inode
)

var opNames = [...]string{
	OpCreate: "create", OpModify: "modify", OpAttrib: "attrib",
	OpDelete: "delete", OpRename: "rename", OpExchange: "exchange", OpLink: "link",
}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return "op?"
}

// Event is one change to mirror. Paths are relative to the source root,
// "." for the root itself, and may hold any byte but NUL.
type Event struct {
	Op   Op
	Path string
	From string // OpRename, OpExchange, OpLink
	Dir  bool
	// Writing: the process that made the change still holds the file open
	// for writing. Such a path waits for the close (a later event without
	// Writing) or max-delay, so a file is not shipped half written.
	Writing bool
}
