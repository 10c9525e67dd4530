package main

import (
	"github.com/mirrorfs/mirrorfs/internal/change"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// engineReporter turns what the FUSE layer saw into what the engine ships.
type engineReporter struct{ e *mirror.Engine }

var _ change.Reporter = engineReporter{}

func (r engineReporter) Report(c change.Change) {
	switch c.Op {
	case change.OpCreate, change.OpMkdir, change.OpMknod, change.OpSymlink:
		r.e.Add(mirror.Event{Op: mirror.OpCreate, Path: c.Path, Dir: c.Dir})
	case change.OpLink:
		r.e.Add(mirror.Event{Op: mirror.OpLink, Path: c.Path, From: c.From})
	case change.OpUnlink, change.OpRmdir:
		r.e.Add(mirror.Event{Op: mirror.OpDelete, Path: c.Path, Dir: c.Dir})
	case change.OpRename:
		r.e.Add(mirror.Event{Op: mirror.OpRename, Path: c.Path, From: c.From, Dir: c.Dir})
	case change.OpExchange:
		r.e.Add(mirror.Event{Op: mirror.OpExchange, Path: c.Path, From: c.From, Dir: c.Dir})
	case change.OpWrite, change.OpTruncate:
		r.e.Add(mirror.Event{Op: mirror.OpModify, Path: c.Path})
	case change.OpSetattr, change.OpSetxattr, change.OpRemovexattr:
		r.e.Add(mirror.Event{Op: mirror.OpAttrib, Path: c.Path, Dir: c.Dir})
	}
}

// teeReporter hands every change to each reporter in turn; each must be
// as cheap as the FUSE hot path requires.
type teeReporter []change.Reporter

var _ change.Reporter = teeReporter{}

func (t teeReporter) Report(c change.Change) {
	for _, r := range t {
		r.Report(c)
	}
}
