package main

import "github.com/mirrorfs/mirrorfs/internal/change"

// teeReporter hands every change to each reporter in turn; each must be
// as cheap as the FUSE hot path requires.
type teeReporter []change.Reporter

var _ change.Reporter = teeReporter{}

func (t teeReporter) Report(c change.Change) {
	for _, r := range t {
		r.Report(c)
	}
}

// reportFunc makes a function, such as mirror.Engine.Add, a Reporter.
type reportFunc func(change.Change)

var _ change.Reporter = reportFunc(nil)

func (f reportFunc) Report(c change.Change) { f(c) }
