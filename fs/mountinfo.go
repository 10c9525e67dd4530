package fs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// MountInfo returns the filesystem type of the mount whose mount point is
// exactly path (the topmost one if several are stacked).
func MountInfo(path string) (fstype string, mounted bool, err error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", false, fmt.Errorf("cannot read the mount table: %w", err)
	}
	defer f.Close()
	path = filepath.Clean(path)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		mp, typ, ok := parseMountinfo(sc.Text())
		if ok && mp == path {
			fstype, mounted = typ, true
		}
	}
	if err := sc.Err(); err != nil {
		return "", false, fmt.Errorf("cannot read the mount table: %w", err)
	}
	return fstype, mounted, nil
}

// parseMountinfo extracts the mount point and type from one line of
// /proc/self/mountinfo:
// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPEROPTS
func parseMountinfo(line string) (mountpoint, fstype string, ok bool) {
	fields := strings.Split(line, " ")
	if len(fields) < 7 {
		return "", "", false
	}
	for i := 6; i < len(fields)-1; i++ {
		if fields[i] == "-" {
			return unescapeMountinfo(fields[4]), unescapeMountinfo(fields[i+1]), true
		}
	}
	return "", "", false
}

// unescapeMountinfo decodes the kernel's octal escapes (\040 for a space,
// \011, \012, \134).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// CheckMountpoint tells whether path can be mounted on: an existing
// directory that is not already a FUSE mount, live or stale.
func CheckMountpoint(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, syscall.ENOTCONN):
		return fmt.Errorf("mountpoint %s is a stale FUSE mount (transport endpoint is not connected: its filesystem server has died); run `fusermount3 -u %s` to clear it", path, path)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("mountpoint %s does not exist; create the directory first", path)
	case err != nil:
		return fmt.Errorf("cannot use mountpoint %s: %w", path, err)
	case !fi.IsDir():
		return fmt.Errorf("mountpoint %s is not a directory; mirrorfs mounts over a directory", path)
	}
	abs, err := filepath.Abs(path)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return fmt.Errorf("cannot resolve mountpoint %s: %w", path, err)
	}
	fstype, mounted, err := MountInfo(abs)
	if err != nil {
		return err
	}
	if mounted && (fstype == "fuse" || fstype == "fuseblk" || strings.HasPrefix(fstype, "fuse.")) {
		return fmt.Errorf("mountpoint %s is already a FUSE mount (%s); unmount it first with `fusermount3 -u %s`", path, fstype, path)
	}
	return nil
}
