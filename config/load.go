package config

import "fmt"

// Sources are the options of one command line, as given: every -o
// argument, and every occurrence of every flag (Origin "--name").
type Sources struct {
	MountOptions []string
	Flags        []Option
}

// Load is the one way every command builds its Config: Defaults() < config
// file < command line (-o and flags). An option may appear once on the
// command line and once in the file (the command line wins); the same
// option twice in either is an error, as is a second config file. Only
// dest repeats: each is one destination. A [dest NAME] section of the file
// is one more; its values override the top-level ones for it alone
// (Config.Dests). The result is not yet validated: the CLI sets
// Mountpoint and calls Validate.
func Load(s Sources) (Config, error) {
	c := Defaults()
	var line []Option
	for _, mo := range s.MountOptions {
		opts, err := ParseMountOptions(mo)
		if err != nil {
			return c, err
		}
		line = append(line, opts...)
	}
	line = append(line, s.Flags...)
	if err := checkRepeats(line, true); err != nil {
		return c, err
	}
	var fileTop []Option
	var secs []section
	if file, ok := value(line, configKey); ok {
		opts, err := ParseFile(file)
		if err != nil {
			return c, err
		}
		fileTop, secs = splitSections(opts)
		if err := checkRepeats(fileTop, true); err != nil {
			return c, err
		}
		for _, s := range secs {
			if err := checkRepeats(s.opts, false); err != nil {
				return c, err
			}
		}
		if err := c.Apply(fileTop); err != nil {
			return c, err
		}
	}
	if err := c.Apply(line); err != nil {
		return c, err
	}
	return c, c.buildDests(line, fileTop, secs)
}

// value returns the value of key in opts, which hold it at most once.
func value(opts []Option, key string) (string, bool) {
	for _, o := range opts {
		if o.Key == key {
			if !o.HasValue || o.Value == "" {
				return "", false // Apply reports the missing value with its origin
			}
			return o.Value, true
		}
	}
	return "", false
}

// Origins are "-o", "--name" or "FILE:LINE".
func isFileOrigin(origin string) bool {
	return origin != "-o" && len(origin) > 0 && origin[0] != '-'
}

// describe names an occurrence as the user wrote it.
func (o Option) describe() string {
	switch {
	case isFileOrigin(o.Origin):
		return o.Origin
	case o.Origin == "-o" && o.HasValue:
		return fmt.Sprintf("-o %s=%s", o.Key, o.Value)
	case o.Origin == "-o":
		return "-o " + o.Key
	case !o.HasValue || o.Value == "true":
		return o.Origin
	}
	if def, _ := lookup(o.Key); def != nil && def.Kind == KindBool {
		return o.Origin + "=" + o.Value
	}
	return o.Origin + " " + o.Value
}
