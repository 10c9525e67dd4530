package rsyncproc

import (
	"os"
	"strings"
)

// Env is the environment a child gets: this process's, with the owner
// marker set and, when dropPassword, without RSYNC_PASSWORD (a password
// file is in use, and exactly one source of the password should be in
// play).
func Env(dropPassword bool) []string {
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if dropPassword && strings.HasPrefix(kv, "RSYNC_PASSWORD=") || strings.HasPrefix(kv, OwnerEnv+"=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, OwnerEnv+"="+Owner())
}
