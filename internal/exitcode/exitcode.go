// Package exitcode names mirrorfs's exit codes. They are stable: scripts,
// mount(8) and systemd's RestartPreventExitStatus rely on them, and the
// tests compare against these names, never against bare numbers.
package exitcode

const (
	OK         = 0
	Internal   = 1 // unexpected failure, or a missing or unsuitable rsync
	Usage      = 2 // bad command line, option or config file
	Mount      = 3 // mountpoint missing, busy, stale; FUSE unavailable
	Dest       = 4 // destination refused: auth, unknown module, bad password file
	Flush      = 5 // changes still pending when the process had to exit
	NotRunning = 6 // no mirrorfs serves that mountpoint
	Sync       = 7 // sync finished, but some paths cannot be mirrored
	Differ     = 8 // verify found differences between the source and the destination
)
