package mirror

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
)

// Version is an rsync release.
type Version struct {
	Major, Minor, Patch int
	Protocol            int
	Raw                 string // the first line of `rsync --version`
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Less reports whether v is older than o.
func (v Version) Less(o Version) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor < o.Minor
	}
	return v.Patch < o.Patch
}

var (
	minVersion      = Version{Major: 3, Minor: 1, Patch: 0}
	versionLineRE   = regexp.MustCompile(`rsync\s+version\s+v?(\d+)\.(\d+)(?:\.(\d+))?\S*(?:\s+protocol version\s+(\d+))?`)
	errVersionParse = fmt.Errorf("cannot find \"rsync version X.Y.Z\" in the output of rsync --version")
)

func parseVersion(out []byte) (Version, error) {
	line := out
	if i := bytes.IndexByte(out, '\n'); i >= 0 {
		line = out[:i]
	}
	m := versionLineRE.FindSubmatch(out)
	if m == nil {
		return Version{}, errVersionParse
	}
	v := Version{Raw: string(bytes.TrimSpace(line))}
	v.Major, _ = strconv.Atoi(string(m[1]))
	v.Minor, _ = strconv.Atoi(string(m[2]))
	if len(m[3]) > 0 {
		v.Patch, _ = strconv.Atoi(string(m[3]))
	}
	if len(m[4]) > 0 {
		v.Protocol, _ = strconv.Atoi(string(m[4]))
	}
	return v, nil
}

func checkVersion(v Version) error {
	if v.Less(minVersion) {
		return fmt.Errorf("rsync %s is too old: mirrorfs needs rsync 3.1.0 or newer for --delete-missing-args; install a newer rsync", v)
	}
	if v.Major == 3 && v.Minor == 4 && v.Patch == 3 {
		return fmt.Errorf("rsync %s has a known bug in --delete-missing-args (fixed in 3.4.4) that would corrupt the mirror; upgrade rsync to 3.4.4 or newer", v)
	}
	return nil
}

// RsyncVersion runs `rsync --version` and refuses releases mirrorfs cannot use.
func RsyncVersion(ctx context.Context, rsyncPath string) (Version, error) {
	if rsyncPath == "" {
		rsyncPath = "rsync"
	}
	out, err := exec.CommandContext(ctx, rsyncPath, "--version").Output()
	if err != nil {
		return Version{}, fmt.Errorf("cannot run %s --version: %w; install rsync 3.1.0 or newer", rsyncPath, err)
	}
	v, err := parseVersion(out)
	if err != nil {
		return Version{}, fmt.Errorf("%s: %w", rsyncPath, err)
	}
	return v, checkVersion(v)
}
