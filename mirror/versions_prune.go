package mirror

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Pruning keep-versions: after a batch, at most once per PruneInterval,
// one rsync lists DIR's version directories and, when some are past the
// retention, a second deletes them by an rsync -r --delete of an empty
// directory filtered down to those names. Both run beside the queue, not
// in it: they touch only DIR, which no shipping run touches.

// versionState is pruning's part of the engine; guarded by Engine.mu.
type versionState struct {
	running bool
	last    time.Time
	refused bool // the destination refuses --delete: pruning stopped
	pruned  int  // version directories removed since start
}

// maybePruneLocked starts a pruning pass when one is due.
func (e *Engine) maybePruneLocked(ctx context.Context) {
	v := &e.vers
	now := e.now()
	if e.cfg.BackupDir == "" || !e.cfg.KeepVersions.On() || v.running || v.refused ||
		!v.last.IsZero() && now.Sub(v.last) < e.cfg.PruneInterval {
		return
	}
	v.running, v.last = true, now
	go func() {
		n, err := e.pruneVersions(ctx)
		e.mu.Lock()
		v.running = false
		v.pruned += n
		e.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			e.log.Warn("old versions not pruned; they are tried again later", "dir", e.cfg.BackupDir, "error", err)
		}
	}()
}

// plainConfig is the engine's configuration for runs that only talk to
// the destination: no source, no excludes, no held-delete rules.
func (e *Engine) plainConfig() *Config {
	e.mu.Lock() // detectVersion may be writing it
	c := e.cfg
	e.mu.Unlock()
	c.Source, c.Exclude, c.guard = nil, nil, nil
	return &c
}

// remoteOpts are the connection options every run needs.
func remoteOpts(cfg *Config) []string {
	a := []string{"--timeout=" + seconds(cfg.Timeout)}
	if cfg.Dest.Kind == DestDaemon {
		a = append(a, "--contimeout="+seconds(cfg.ConTimeout))
		if cfg.PasswordFile != "" {
			a = append(a, "--password-file="+cfg.PasswordFile)
		}
	}
	return a
}

// versionsArg addresses DIR on the destination.
func (e *Engine) versionsArg() string {
	return e.cfg.Dest.RsyncArg() + e.cfg.BackupDir + "/"
}

// pruneVersions removes the version directories past the retention and
// reports how many.
func (e *Engine) pruneVersions(ctx context.Context) (int, error) {
	cfg := e.plainConfig()
	stamps, err := e.listStamps(ctx, cfg)
	if err != nil || len(stamps) == 0 {
		return 0, err
	}
	old := pastRetention(stamps, cfg.KeepVersions, e.now())
	if len(old) == 0 {
		return 0, nil
	}
	empty, err := os.MkdirTemp("", "mirrorfs-prune-*")
	if err != nil {
		return 0, fmt.Errorf("creating an empty directory to prune from: %w", err)
	}
	defer os.RemoveAll(empty)
	var rules []byte
	for _, s := range old {
		rules = append(append(rules, "+ /"+escapeRulePattern(s)+"/***"...), 0)
	}
	rules = append(append(rules, "- /*"...), 0)
	rf := empty + ".rules"
	if err := os.WriteFile(rf, rules, 0o600); err != nil {
		return 0, fmt.Errorf("writing the prune rules: %w", err)
	}
	defer os.Remove(rf)
	args := append([]string{"-r", "--delete", "--from0", "--filter=merge " + rf}, remoteOpts(cfg)...)
	args = append(args, empty+"/", e.versionsArg())
	r := execRsync(ctx, cfg, args, nil, 0)
	if r.code != 0 {
		msg := strings.TrimSpace(string(r.stderr))
		if r.code == 4 || strings.Contains(msg, "refuse") {
			e.mu.Lock()
			e.vers.refused = true
			e.mu.Unlock()
			e.log.Error("keep-versions cannot prune: the destination refuses --delete (rsyncd.conf `refuse options`); old versions are kept, allow delete on the module or remove keep-versions",
				"dest", e.cfg.Dest.String())
			return 0, nil
		}
		return 0, fmt.Errorf("rsync exit %d: %s", r.code, msg)
	}
	e.log.Info("old versions pruned", "dir", e.cfg.BackupDir, "removed", len(old), "kept", len(stamps)-len(old), "keep", cfg.KeepVersions.String())
	return len(old), nil
}

// listStamps lists the version directories in DIR, oldest first; none
// when DIR does not exist yet.
func (e *Engine) listStamps(ctx context.Context, cfg *Config) ([]string, error) {
	args := append([]string{"--list-only", "-8"}, remoteOpts(cfg)...)
	args = append(args, e.versionsArg())
	r := execRsync(ctx, cfg, args, nil, 0)
	if r.code != 0 {
		if bytes.Contains(r.stderr, []byte("No such file or directory")) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing %s: rsync exit %d: %s", e.cfg.BackupDir, r.code, strings.TrimSpace(string(r.stderr)))
	}
	var out []string
	for _, l := range parseListing(r.stdout) {
		if _, ok := parseStamp(l.name); ok && l.dir && !strings.Contains(l.name, "/") {
			out = append(out, l.name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// pastRetention returns the stamps (sorted, oldest first) that r no
// longer keeps: outside the Count newest and older than Age.
func pastRetention(stamps []string, r Retention, now time.Time) []string {
	var old []string
	for i, s := range stamps {
		newer := len(stamps) - 1 - i // how many are newer than s
		keepCount := r.Count > 0 && newer < r.Count
		t, _ := parseStamp(s)
		keepAge := r.Age > 0 && now.Sub(t) < r.Age
		if !keepCount && !keepAge {
			old = append(old, s)
		}
	}
	return old
}
