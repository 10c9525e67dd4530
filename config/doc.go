// Package config turns the three sources of mirrorfs options into one Config.
//
// Every option has a single canonical name, listed once in Keys(), and is
// written the same way in all sources:
//
//	--delay 2s                 a command-line flag
//	-o delay=2s,xattrs         a mount option (fstab, mount(8), mount.fuse3)
//	delay = 2s                 a line in the config file (--config / -o config=)
//
// Load, used by every command, applies them in this order, later sources
// overriding earlier ones:
//
//	Defaults() < config file < command line (-o options and flags)
//
// No option repeats: the same option twice on the command line (flag, -o,
// or one of each) or twice in the file is an error, never "the last one
// wins". The exception is dest: each one is a destination. The file may
// also hold one [dest NAME] section per destination, with the options of
// that destination alone (perDestKeys); the top-level values, from the
// file or the command line, are their defaults (dests.go). Validate then checks the result as a whole. Options
// that belong to mount(8) or systemd (_netdev, nofail, x-systemd.*, ...) are
// accepted and ignored so an fstab line works unchanged; see IsMountOnlyOption.
package config
