package config

import (
	"fmt"

	"github.com/mirrorfs/mirrorfs/mirror"
)

func checkHoldDeletes(s string) (string, error) {
	_, err := mirror.ParseHoldLimit(s)
	return s, err
}

func checkKeepVersions(s string) (string, error) {
	_, err := mirror.ParseRetention(s)
	return s, err
}

// safety maps hold-deletes, backup-dir and keep-versions onto m.
func (c Config) safety(m *mirror.Config) error {
	m.HoldWindow, m.PruneInterval = c.HoldWindow, c.PruneInterval
	if c.HoldDeletes != "" {
		l, err := mirror.ParseHoldLimit(c.HoldDeletes)
		if err != nil {
			return fmt.Errorf("hold-deletes %q: %w", c.HoldDeletes, err)
		}
		m.HoldDeletes = l
		if c.HoldWindow <= 0 {
			return fmt.Errorf("hold-window %s: must be more than 0 with hold-deletes (deletes count within it)", c.HoldWindow)
		}
	}
	if c.BackupDir != "" {
		d, err := mirror.CheckBackupDir(c.BackupDir)
		if err != nil {
			return fmt.Errorf("backup-dir %q: %w", c.BackupDir, err)
		}
		m.BackupDir = d
	}
	if c.KeepVersions != "" {
		if c.BackupDir == "" {
			return fmt.Errorf("keep-versions %q: needs backup-dir (the versions it prunes)", c.KeepVersions)
		}
		r, err := mirror.ParseRetention(c.KeepVersions)
		if err != nil {
			return fmt.Errorf("keep-versions %q: %w", c.KeepVersions, err)
		}
		m.KeepVersions = r
		if c.PruneInterval <= 0 {
			return fmt.Errorf("prune-interval %s: must be more than 0 with keep-versions", c.PruneInterval)
		}
	}
	return nil
}

func checkBackupDir(s string) (string, error) { return mirror.CheckBackupDir(s) }
