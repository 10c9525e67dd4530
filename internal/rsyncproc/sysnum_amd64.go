package rsyncproc

// pathCalls are the system calls that take a path and can sleep on it for
// good (a FIFO without writer, a device waiting for a carrier, a hung
// network or FUSE filesystem), with the index of their path argument.
var pathCalls = map[int]pathCall{
	2:   {"open", 0},
	85:  {"creat", 0},
	257: {"openat", 1},
	437: {"openat2", 1},
	4:   {"stat", 0},
	6:   {"lstat", 0},
	262: {"newfstatat", 1},
	332: {"statx", 1},
	89:  {"readlink", 0},
	267: {"readlinkat", 1},
}
