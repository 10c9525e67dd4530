package mirror

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// CheckPasswordFile applies rsync's own rules (and a stricter one: no group
// access) so a bad file is reported at start-up, not as a failing transfer.
func CheckPasswordFile(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("password file %s does not exist: create it with the module password on its first line and run: chmod 600 %s", path, path)
	}
	if err != nil {
		return fmt.Errorf("password file %s cannot be checked: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("password file %s is not a regular file (%s): give a file holding the module password", path, st.Mode().Type())
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("password file %s is accessible by group or others (mode %04o); rsync refuses such files: run chmod 600 %s", path, perm, path)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && sys.Uid != 0 {
		return fmt.Errorf("password file %s is owned by uid %d, but rsync running as root requires it to be owned by root: run chown root %s", path, sys.Uid, path)
	}
	if st.Size() == 0 {
		return fmt.Errorf("password file %s is empty: write the module password on its first line", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("password file %s cannot be read: %w", path, err)
	}
	f.Close()
	return nil
}
