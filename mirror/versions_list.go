package mirror

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// FileVersion is one earlier content of a path, kept in backup-dir.
type FileVersion struct {
	Stamp string    `json:"stamp"` // the version directory: when the batch that replaced it ran
	Time  time.Time `json:"time"`  // the stamp's time
	Size  int64     `json:"size"`
	MTime time.Time `json:"mtime"` // the file's own modification time, as the destination lists it
	Mode  string    `json:"mode"`  // as ls -l prints it
}

// listing is one line of rsync --list-only.
type listing struct {
	mode  string
	size  int64
	mtime time.Time
	name  string
	dir   bool
}

// parseListing reads rsync --list-only output: mode, size, date, time, name.
func parseListing(out []byte) []listing {
	var ls []listing
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || len(f[0]) != 10 {
			continue
		}
		line := sc.Text()
		// The name is what follows the time, which is unique in the line's head.
		i := strings.Index(line, " "+f[3]+" ")
		if i < 0 {
			continue
		}
		name := line[i+len(f[3])+2:]
		if f[0][0] == 'l' {
			name, _, _ = strings.Cut(name, " -> ")
		}
		size, _ := strconv.ParseInt(strings.ReplaceAll(f[1], ",", ""), 10, 64)
		mt, _ := time.ParseInLocation("2006/01/02 15:04:05", f[2]+" "+f[3], time.Local)
		ls = append(ls, listing{mode: f[0], size: size, mtime: mt, name: name, dir: f[0][0] == 'd'})
	}
	return ls
}

// ErrNoBackupDir says versions are asked of an engine that keeps none.
var ErrNoBackupDir = errors.New("no versions are kept: backup-dir is not set")

// Versions lists the versions of p (relative to the source) kept in
// backup-dir on the destination, newest first.
func (e *Engine) Versions(ctx context.Context, p string) ([]FileVersion, error) {
	if e.cfg.BackupDir == "" {
		return nil, ErrNoBackupDir
	}
	p = strings.Trim(p, "/")
	if p == "" || p == "." {
		return nil, fmt.Errorf("name a path inside the mount")
	}
	cfg := e.plainConfig()
	// The stamp directories, the path's parents in each, the path: rsync
	// descends only along the path, not through the whole version tree.
	args := []string{"--list-only", "-8", "-r", "--filter=+ /*/"}
	for a := parent(p); a != "."; a = parent(a) {
		args = append(args, "--filter=+ /*/"+escapeRulePattern(a)+"/")
	}
	args = append(args, "--filter=+ /*/"+escapeRulePattern(p), "--filter=- *")
	args = append(args, remoteOpts(cfg)...)
	args = append(args, e.versionsArg())
	r := execRsync(ctx, cfg, args, nil, 0)
	if r.code != 0 {
		if bytes.Contains(r.stderr, []byte("No such file or directory")) {
			return []FileVersion{}, nil
		}
		return nil, fmt.Errorf("listing the versions on %s: rsync exit %d: %s", e.cfg.Dest.String(), r.code, strings.TrimSpace(string(r.stderr)))
	}
	out := []FileVersion{}
	for _, l := range parseListing(r.stdout) {
		stamp, rest, ok := strings.Cut(l.name, "/")
		if !ok || strings.TrimSuffix(rest, "/") != p {
			continue
		}
		t, ok := parseStamp(stamp)
		if !ok {
			continue
		}
		out = append(out, FileVersion{Stamp: stamp, Time: t, Size: l.size, MTime: l.mtime, Mode: l.mode})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Stamp > out[j].Stamp })
	return out, nil
}
