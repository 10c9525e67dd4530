package config

import (
	"errors"
	"strings"
)

// Options consumed by mount(8), fstab or systemd. mount.fuse3 and systemd
// hand them to the helper unchanged; they mean nothing to mirrorfs and are
// never passed to the kernel.
var mountOnly = map[string]bool{
	"_netdev": true, "nofail": true, "noauto": true, "auto": true,
	"user": true, "users": true, "nouser": true, "owner": true, "group": true,
	"comment": true, "rw": true, "defaults": true,
	"dev": true, "nodev": true, "suid": true, "nosuid": true,
	"exec": true, "noexec": true, "async": true,
	"atime": true, "noatime": true, "relatime": true,
}

// IsMountOnlyOption reports whether key (the part before any '=') is a
// mount(8)/systemd option that mirrorfs accepts and ignores. Every x-* option
// (x-systemd.*, x-mount.*, x-gvfs-show, ...) is one, as in libmount.
func IsMountOnlyOption(key string) bool {
	return mountOnly[key] || strings.HasPrefix(key, "x-")
}

// unsupported are kernel mount options mirrorfs cannot honour; refusing them
// beats a silent difference, and beats a misleading "did you mean".
var unsupported = map[string]error{
	"ro":      errReadOnly,
	"sync":    errors.New(`option "sync" is not supported: mirrorfs cannot make writes synchronous on the destination, they are shipped in batches (remove "sync"; lower delay for faster mirroring)`),
	"dirsync": errors.New(`option "dirsync" is not supported: directory changes are shipped in batches (remove "dirsync")`),
}

var errReadOnly = errors.New(`option "ro" refused: the mount is the source of the mirror and must accept writes, a read-only mirrorfs would never ship anything (remove "ro"; to share the data read-only, bind-mount it elsewhere with -o ro)`)
