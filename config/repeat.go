package config

import (
	"errors"
	"fmt"
)

// ErrRepeated is wrapped by every "given twice" error. No option can
// repeat: one that did would silently lose all but its last value.
var ErrRepeated = errors.New("given twice")

// repeatHints say what to do instead, where "give it once" is not enough.
var repeatHints = map[string]string{
	configKey:  "give one config file",
	"dest":     "a section is one destination; give each its own [dest NAME] section",
	"exclude":  "combine the patterns into one regular expression, a|b",
	"excludei": "combine the patterns into one regular expression, a|b",
}

// checkRepeats refuses an option given twice within one source (the
// command line, the file's top, one section). A boolean and its no- form
// are the same option; mount-only options may repeat, they mean nothing
// to mirrorfs; dest repeats at the top, one destination each (manyDests).
func checkRepeats(opts []Option, manyDests bool) error {
	first := map[string]Option{}
	for _, o := range opts {
		def, _ := lookup(o.Key)
		if def == nil || manyDests && def.Name == "dest" {
			continue
		}
		prev, seen := first[def.Name]
		if !seen {
			first[def.Name] = o
			continue
		}
		inFile := isFileOrigin(o.Origin)
		hint, ok := repeatHints[def.Name]
		switch {
		case ok:
		case inFile:
			hint = "keep one of the lines"
		default:
			hint = "give it once"
		}
		if inFile {
			return fmt.Errorf("%s: option %q %w (also at %s): %s", o.Origin, def.Name, ErrRepeated, prev.Origin, hint)
		}
		if def.Name == configKey {
			return fmt.Errorf("config file %w (%s, %s): %s", ErrRepeated, prev.describe(), o.describe(), hint)
		}
		return fmt.Errorf("option %q %w (%s, %s): %s", def.Name, ErrRepeated, prev.describe(), o.describe(), hint)
	}
	return nil
}
