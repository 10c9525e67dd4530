package config

import (
	"testing"
	"time"

	"github.com/mirrorfs/mirrorfs/mirror"
)

// TestEngine: explicit values reach the engine as they are, zero included.
func TestEngine(t *testing.T) {
	def := mirror.DefaultConfig()
	tests := []struct {
		mo    string
		check func(mirror.Config) bool
	}{
		{"", func(m mirror.Config) bool {
			return m.Delay == def.Delay && m.MaxDelay == def.MaxDelay && m.RetryMin == def.RetryMin && m.MaxBatch == def.MaxBatch && m.InitialSync
		}},
		{"delay=0", func(m mirror.Config) bool { return m.Delay == 0 && m.MaxDelay == def.MaxDelay }},
		{"delay=1s,max-delay=5s", func(m mirror.Config) bool { return m.Delay == time.Second && m.MaxDelay == 5*time.Second }},
		{"timeout=7,contimeout=3s", func(m mirror.Config) bool { return m.Timeout == 7*time.Second && m.ConTimeout == 3*time.Second }},
		{"reconcile-interval=1h,max-pending=5000", func(m mirror.Config) bool { return m.ReconcileInterval == time.Hour && m.MaxPending == 5000 }},
		{"verify-interval=6h", func(m mirror.Config) bool { return m.VerifyInterval == 6*time.Hour }},
		{"no-initial-sync,xattrs,acls,compress,numeric-ids", func(m mirror.Config) bool {
			return !m.InitialSync && m.Xattrs && m.ACLs && m.Compress && m.NumericIDs
		}},
		{"rsync=/opt/rsync,password-file=/etc/pw", func(m mirror.Config) bool { return m.RsyncPath == "/opt/rsync" && m.PasswordFile == "/etc/pw" }},
	}
	for _, tt := range tests {
		t.Run(tt.mo, func(t *testing.T) {
			c := Defaults()
			opts, err := ParseMountOptions("dest=h::m/p," + tt.mo)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Apply(opts); err != nil {
				t.Fatal(err)
			}
			m, err := c.Engine()
			if err != nil {
				t.Fatal(err)
			}
			if m.Dest.Kind != mirror.DestDaemon || m.Dest.Module != "m" || !tt.check(m) {
				t.Errorf("engine config %+v", m)
			}
		})
	}
	c := Defaults()
	c.Dest = "http://h/m"
	if _, err := c.Engine(); err == nil {
		t.Error("a bad destination gave no error")
	}
}
