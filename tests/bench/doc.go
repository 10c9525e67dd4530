// Package bench is mirrorfs's measuring stick (issue 6): the data path
// (mirrorfs against the same directory natively, a plain go-fuse loopback
// mount and libfuse's C example passthrough_ll, built from libfuse3-dev) and the mirror path (mirrorfs against lsyncd and the inotifywait +
// rsync script, all shipping to a loopback rsync daemon).
//
// `make bench` runs TestBench at full size and writes BENCHMARKS.md;
// TestSmoke runs every workload at tiny size and checks only that it
// completes and that the trees converge. Knobs: see knobs_test.go.
package bench
