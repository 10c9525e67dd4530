package control

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
)

// maxSocketPath is the longest path a unix socket can be bound to: sun_path
// holds 108 bytes including the terminating NUL.
const maxSocketPath = 107

// DefaultRunDir is $MIRRORFS_RUN_DIR if set, else /run/mirrorfs.
func DefaultRunDir() string {
	if d := os.Getenv("MIRRORFS_RUN_DIR"); d != "" {
		return d
	}
	return "/run/mirrorfs"
}

// SocketPath names the control socket of a mountpoint. The name is a hash of
// the cleaned absolute mountpoint so that it stays short whatever the
// mountpoint's length: unix socket paths are limited to 108 bytes.
func SocketPath(runDir, mountpoint string) string {
	return filepath.Join(runDir, socketName(mountpoint)+".sock")
}

func lockPath(runDir, mountpoint string) string {
	return filepath.Join(runDir, socketName(mountpoint)+".lock")
}

func socketName(mountpoint string) string {
	abs, err := filepath.Abs(mountpoint)
	if err != nil { // no working directory; Clean is the best we can do
		abs = filepath.Clean(mountpoint)
	}
	sum := sha256.Sum256([]byte(abs))
	return hex.EncodeToString(sum[:8])
}
