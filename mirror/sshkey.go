package mirror

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// CheckSSHKey refuses a key file that ssh would not use: missing, not a
// regular file, or readable by others (ssh ignores such keys). A key
// with a passphrase is refused too unless an agent may hold it: ssh runs
// in batch mode and cannot ask for the passphrase.
func CheckSSHKey(path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("ssh-key %s does not exist: give the private key file (make one with: ssh-keygen -t ed25519 -N '' -f %s)", path, path)
	case err != nil:
		return fmt.Errorf("ssh-key %s cannot be checked: %w", path, err)
	case !st.Mode().IsRegular():
		return fmt.Errorf("ssh-key %s is not a regular file: give the private key file", path)
	case st.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("ssh-key %s is accessible by group or others (mode %04o); ssh ignores such keys: run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	enc, err := KeyHasPassphrase(path)
	if err != nil {
		return err
	}
	if enc && os.Getenv("SSH_AUTH_SOCK") == "" {
		return fmt.Errorf("ssh-key %s has a passphrase, which mirrorfs cannot type (ssh runs in batch mode): load it into ssh-agent and keep SSH_AUTH_SOCK set, or use a key without a passphrase", path)
	}
	return nil
}

// KeyHasPassphrase reports whether a private key file is encrypted, for
// OpenSSH's own format and for PEM keys.
func KeyHasPassphrase(path string) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("ssh-key %s cannot be read: %w", path, err)
	}
	s := string(data)
	if strings.Contains(s, "ENCRYPTED") {
		return true, nil // PEM: "Proc-Type: 4,ENCRYPTED" or "BEGIN ENCRYPTED PRIVATE KEY"
	}
	const begin, end = "-----BEGIN OPENSSH PRIVATE KEY-----", "-----END OPENSSH PRIVATE KEY-----"
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return false, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s[i+len(begin):j]), ""))
	if err != nil {
		return false, fmt.Errorf("ssh-key %s is not a valid OpenSSH private key: %w", path, err)
	}
	// "openssh-key-v1\0", then the cipher name as a length-prefixed string.
	magic := []byte("openssh-key-v1\x00")
	if !bytes.HasPrefix(raw, magic) || len(raw) < len(magic)+4 {
		return false, fmt.Errorf("ssh-key %s is not a valid OpenSSH private key", path)
	}
	raw = raw[len(magic):]
	n := binary.BigEndian.Uint32(raw)
	if uint64(n) > uint64(len(raw)-4) {
		return false, fmt.Errorf("ssh-key %s is not a valid OpenSSH private key", path)
	}
	return string(raw[4:4+n]) != "none", nil
}
