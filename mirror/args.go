package mirror

import (
	"strconv"
	"strings"
	"time"
)

// sourceArg is the backing directory as rsync sees it: fd 3 of the child.
const sourceArg = "/proc/self/fd/3/"

// noIncRecursive goes with every recursive run. With -H and incremental
// recursion, a hard-linked file that the sender lists and then cannot open
// (deleted, or swapped for a symlink, while rsync scans) leaves the daemon's
// generator waiting forever for the file's link group; keep-alive messages
// flow both ways, so --timeout never fires (rsync 3.5.0: about 1 run in 10
// under a writer that swaps files, never without -H or with this option).
// The cost: the file list is complete before the first file is sent.
const noIncRecursive = "--no-inc-recursive"

type argMode uint8

const (
	modeList          argMode = iota // listed paths, -d semantics
	modeListNew                      // listed paths the destination never had: --whole-file
	modeListInplace                  // listed multi-linked files, updated in place
	modeListRecursive                // listed directories with -r --delete
	modeFull                         // the whole tree (initial sync)
	modeRoot                         // the root directory's own attributes
	modeProbe                        // list the module root only
	modeSeed                         // one renamed directory from its old copy (reuse.go)
	modeVerify                       // the whole tree, a checksum dry run, itemized (verify.go)
)

// tracked modes report their progress (progress.go).
func (m argMode) tracked() bool {
	switch m {
	case modeList, modeListNew, modeListInplace, modeListRecursive, modeFull:
		return true
	}
	return false
}

func seconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// rsyncArgs builds the command line. It never carries a password.
func rsyncArgs(cfg *Config, mode argMode) []string {
	var a []string
	if mode == modeProbe {
		a = append(a, "--list-only", "--exclude=*")
	} else {
		// -8: high-bit names are printed as they are, so stderr can be
		// matched against the listed paths.
		a = append(a, "-a", "-H", "-8", "--stats", "--no-human-readable")
		if cfg.exactTimes {
			a = append(a, "--modify-window=-1")
		}
		if cfg.Xattrs {
			a = append(a, "-X")
		}
		if cfg.ACLs {
			a = append(a, "-A")
		}
		if cfg.NumericIDs {
			a = append(a, "--numeric-ids")
		}
		if cfg.Compress && cfg.Dest.Kind != DestLocal {
			a = append(a, "-z")
		}
	}
	switch mode {
	case modeList:
		a = append(a, "--files-from=-", "--from0", "--delete-missing-args", "--force")
	case modeListNew:
		// No basis on the receiver, or only a partial one from an earlier
		// run: a delta pass would read it and send the data anyway.
		a = append(a, "--files-from=-", "--from0", "--delete-missing-args", "--force", "--whole-file")
	case modeListInplace:
		a = append(a, "--files-from=-", "--from0", "--delete-missing-args", "--force", "--inplace")
	case modeListRecursive:
		a = append(a, "--files-from=-", "--from0", "--delete-missing-args", "--force", "-r", "--delete", noIncRecursive)
	case modeFull:
		a = append(a, "--delete", "--force", noIncRecursive)
	case modeRoot:
		a = append(a, "--exclude=/*")
	case modeSeed:
		a = append(a, "--delete", "--force", noIncRecursive, "--mkpath")
	case modeVerify:
		a = append(a, verifyArgs(cfg)...)
	}
	if mode.tracked() {
		// One line per file sent: status shows how far the run got (progress.go).
		a = append(a, "--info=progress2")
	}
	a = append(a, "--timeout="+seconds(cfg.Timeout))
	a = append(a, TransportArgs(cfg)...)
	if mode == modeProbe {
		return append(a, probeArg(cfg))
	}
	if cfg.BwLimit != "" {
		a = append(a, "--bwlimit="+cfg.BwLimit)
	}
	return append(a, sourceArg, DestArg(cfg))
}

// listInput is the NUL-separated --files-from list.
func listInput(paths []string) []byte {
	n := 0
	for _, p := range paths {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for _, p := range paths {
		b = append(b, p...)
		b = append(b, 0)
	}
	return b
}

// verifyArgs make a whole-tree run a comparison: nothing is changed, every
// difference is one itemized line, and the version tree is left out on
// both sides (an exclude also protects it from --delete).
func verifyArgs(cfg *Config) []string {
	a := []string{"-n", "-c", "--delete", "--force", noIncRecursive, "--out-format=" + verifyMark + "%i %n"}
	if b := strings.Trim(cfg.BackupDir, "/"); b != "" {
		a = append(a, "--filter=- /"+escapeRulePattern(b)+"/")
	}
	return a
}
