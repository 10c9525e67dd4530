// Package change is the one vocabulary of changes, from the FUSE layer
// that sees them to the engine that ships them, the statistics, the change
// log and the audit: the operations (Op, Change) and inotify's view of
// them (Kind, Kinds).
package change

// Op is a mutating filesystem operation seen by the FUSE layer.
type Op uint8

const (
	OpCreate      Op = iota + 1 // regular file created (creat, open O_CREAT, O_TMPFILE linked in)
	OpMkdir                     // directory created
	OpMknod                     // fifo, socket or device node created
	OpSymlink                   // symlink created
	OpLink                      // hard link: Path is the new name, From an existing one
	OpUnlink                    // non-directory removed
	OpRmdir                     // directory removed
	OpRename                    // From moved to Path (Path may have been replaced)
	OpExchange                  // RENAME_EXCHANGE: From and Path swapped
	OpWrite                     // content changed: close after write, long-open writer, fallocate, copy_file_range
	OpTruncate                  // size changed by truncate/ftruncate/O_TRUNC
	OpSetattr                   // chmod, chown, utimens
	OpSetxattr                  // extended attribute set
	OpRemovexattr               // extended attribute removed
)

var opNames = [...]string{
	OpCreate: "create", OpMkdir: "mkdir", OpMknod: "mknod", OpSymlink: "symlink",
	OpLink: "link", OpUnlink: "unlink", OpRmdir: "rmdir", OpRename: "rename",
	OpExchange: "exchange", OpWrite: "write", OpTruncate: "truncate",
	OpSetattr: "setattr", OpSetxattr: "setxattr", OpRemovexattr: "removexattr",
}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return "op?"
}

// Change is one mutation, reported after it succeeded on the backing
// directory. Paths are relative to the root, "." for the root itself, and
// may hold any byte but NUL.
type Change struct {
	Op   Op
	Path string
	From string // OpRename, OpExchange, OpLink
	Dir  bool   // the object at Path is a directory
	// Writing: the file is still open for writing after this change (the
	// engine waits for its close before it ships it).
	Writing bool
	// Open (OpUnlink, OpRename): the file unlinked or replaced stays open
	// for writing, and may still have other names.
	Open bool
	// Inode is set, and Path empty, for a change made through a descriptor
	// of a file whose names the mount no longer knows: it was opened
	// through a name since unlinked, and its other names were never
	// looked up. The engine finds those names in its hard-link index.
	Inode Inode
}

// Inode names a file by device and inode number, as stat(2) gives them.
type Inode struct{ Dev, Ino uint64 }

// Orphan reports whether c names its file by inode only (see Inode).
func (c Change) Orphan() bool { return c.Path == "" && c.Inode != (Inode{}) }

// Reporter receives every change. Report is called on the FUSE hot path:
// it must not block on I/O.
type Reporter interface {
	Report(Change)
}
