//go:build race

package tests

// raceBuild: this test binary runs under the race detector, so TestMain
// builds mirrorfs with -race too and the harness fails a test whose
// mirrorfs process reported a data race.
const raceBuild = true
