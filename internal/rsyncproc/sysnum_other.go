//go:build !amd64 && !arm64

package rsyncproc

// pathCalls is empty where the numbers are not known: only a FIFO open is
// caught (by its wait channel), and without its path.
var pathCalls = map[int]pathCall{}
