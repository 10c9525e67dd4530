package config

import "github.com/mirrorfs/mirrorfs/mirror"

// Engine translates the engine's settings into a mirror.Config, starting
// from mirror.DefaultConfig and copying every value as it is: delay=0 stays
// 0 (ship at once). The caller adds what only it has: Source, SourceName,
// Logger, Exclude, OnShipped and StateDir (the mountpoint's own directory).
func (c Config) Engine() (mirror.Config, error) {
	dest, err := mirror.ParseDestination(c.Dest)
	if err != nil {
		return mirror.Config{}, err
	}
	m := mirror.DefaultConfig()
	m.Dest, m.PasswordFile, m.RsyncPath = dest, c.PasswordFile, c.Rsync
	m.Delay, m.MaxDelay, m.InitialSync, m.LeadingEdge = c.Delay, c.MaxDelay, c.InitialSync, c.LeadingEdge
	m.Xattrs, m.ACLs, m.Compress, m.NumericIDs = c.Xattrs, c.ACLs, c.Compress, c.NumericIDs
	m.Timeout, m.ConTimeout = c.Timeout, c.ConTimeout
	m.ReconcileInterval, m.MaxPending = c.ReconcileInterval, c.MaxPending
	m.VerifyInterval = c.VerifyInterval
	if err := c.safety(&m); err != nil {
		return mirror.Config{}, err
	}
	if err := c.Transport.apply(&m); err != nil {
		return mirror.Config{}, err
	}
	return m, nil
}
