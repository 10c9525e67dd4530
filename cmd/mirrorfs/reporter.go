package main

import (
	"github.com/mirrorfs/mirrorfs/fs"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// engineReporter turns what the FUSE layer saw into what the engine ships.
type engineReporter struct{ e *mirror.Engine }

var _ fs.Reporter = engineReporter{}

func (r engineReporter) Report(c fs.Change) {
	switch c.Op {
	case fs.OpCreate, fs.OpMkdir, fs.OpMknod, fs.OpSymlink:
		r.e.Add(mirror.Event{Op: mirror.OpCreate, Path: c.Path, Dir: c.Dir, Writing: c.Writing})
	case fs.OpLink:
		r.e.Add(mirror.Event{Op: mirror.OpLink, Path: c.Path, From: c.From, Writing: c.Writing})
	case fs.OpUnlink, fs.OpRmdir:
		r.e.Add(mirror.Event{Op: mirror.OpDelete, Path: c.Path, Dir: c.Dir})
	case fs.OpRename:
		r.e.Add(mirror.Event{Op: mirror.OpRename, Path: c.Path, From: c.From, Dir: c.Dir})
	case fs.OpExchange:
		r.e.Add(mirror.Event{Op: mirror.OpExchange, Path: c.Path, From: c.From, Dir: c.Dir})
	case fs.OpWrite, fs.OpTruncate:
		r.e.Add(mirror.Event{Op: mirror.OpModify, Path: c.Path, Writing: c.Writing})
	case fs.OpSetattr, fs.OpSetxattr, fs.OpRemovexattr:
		r.e.Add(mirror.Event{Op: mirror.OpAttrib, Path: c.Path, Dir: c.Dir, Writing: c.Writing})
	}
}

// teeReporter hands every change to each reporter in turn; each must be
// as cheap as the FUSE hot path requires.
type teeReporter []fs.Reporter

var _ fs.Reporter = teeReporter{}

func (t teeReporter) Report(c fs.Change) {
	for _, r := range t {
		r.Report(c)
	}
}
