package rsyncproc

// pathCalls: see sysnum_amd64.go.
var pathCalls = map[int]pathCall{
	56:  {"openat", 1},
	437: {"openat2", 1},
	79:  {"newfstatat", 1},
	291: {"statx", 1},
	78:  {"readlinkat", 1},
}
