package testkit

import (
	"testing"
	"time"
)

// Eventually polls cond until it reports true or timeout passes, then fails
// the test with cond's last message. The timeout is a generous bound for
// convergence, not a speed assertion.
func Eventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	if ok, msg := Poll(timeout, cond); !ok {
		t.Fatalf("condition not met within %v: %s", timeout, msg)
	}
}

// Poll is Eventually without the test: it returns whether cond became true
// and its last message.
func Poll(timeout time.Duration, cond func() (bool, string)) (bool, string) {
	deadline := time.Now().Add(timeout)
	wait := 10 * time.Millisecond
	for {
		ok, msg := cond()
		if ok {
			return true, msg
		}
		if time.Now().After(deadline) {
			return false, msg
		}
		time.Sleep(wait)
		wait = min(wait*2, 250*time.Millisecond)
	}
}
