package main

import (
	"testing"
	"time"
)

func TestEngineDelay(t *testing.T) {
	for _, tt := range []struct{ in, want time.Duration }{
		{0, -1}, // delay=0: none, not the engine's default
		{time.Millisecond, time.Millisecond},
		{200 * time.Millisecond, 200 * time.Millisecond},
	} {
		if got := engineDelay(tt.in); got != tt.want {
			t.Errorf("engineDelay(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
