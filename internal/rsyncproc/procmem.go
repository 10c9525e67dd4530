package rsyncproc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// maxPath is PATH_MAX: the kernel refuses longer path arguments.
const maxPath = 4096

// readCString reads the NUL-terminated string at addr in pid's memory
// (root, or the same user without ptrace restrictions, may). It reads page
// by page so an unmapped page after a short string does not fail the read.
func readCString(pid int, addr uint64) (string, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/mem")
	if err != nil {
		return "", fmt.Errorf("read path argument: %w", err)
	}
	defer f.Close()
	const page = 4096
	var out []byte
	for len(out) <= maxPath {
		n := page - int(addr%page)
		buf := make([]byte, n)
		got, err := f.ReadAt(buf, int64(addr))
		if i := bytes.IndexByte(buf[:got], 0); i >= 0 {
			return string(append(out, buf[:i]...)), nil
		}
		if err != nil {
			return "", fmt.Errorf("read path argument of pid %d at %#x: %w", pid, addr, err)
		}
		out = append(out, buf...)
		addr += uint64(n)
	}
	return "", errors.New("path argument longer than PATH_MAX")
}
