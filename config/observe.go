package config

import (
	"fmt"
	"time"

	"github.com/mirrorfs/mirrorfs/internal/metrics"
)

// Observe is how a mount reports to the outside: the Prometheus endpoint
// and the event hooks (issue 15).
type Observe struct {
	MetricsListen string // HOST:PORT, PORT (127.0.0.1) or unix:PATH; "" off
	OnBatch       string // shell command lines run for engine events
	OnError       string
	OnStuck       string
	OnHold        string
	OnBarrier     string
	HookTimeout   time.Duration
}

// DefaultHookTimeout bounds one hook run.
const DefaultHookTimeout = 30 * time.Second

func checkMetricsListen(v string) (string, error) {
	if _, err := metrics.ParseAddr(v); err != nil {
		return "", err
	}
	return v, nil
}

func (c *Config) validateObserve() error {
	if c.HookTimeout <= 0 {
		return fmt.Errorf("hook-timeout %v: must be more than 0 (e.g. 30s)", c.HookTimeout)
	}
	return nil
}
