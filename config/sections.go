package config

import (
	"fmt"
	"sort"
	"strings"
)

// sectionKey marks, in ParseFile's result, the header line of a
// [dest NAME] section; it can be no option's name.
const sectionKey = "[dest]"

// perDestKeys are the options a destination may set for itself, in its
// config-file section. Given at the top (file or command line) they are
// the default of every destination. The transport keys live in
// transport.go's Transport.
var perDestKeys = map[string]bool{
	"dest": true, "password-file": true, "compress": true, "exclude": true, "excludei": true,
	"rsh": true, "ssh-key": true, "ssh-port": true, "ssh-known-hosts": true, "ssh-options": true, "bwlimit": true,
}

// IsPerDest reports whether an option may differ between destinations.
func IsPerDest(key string) bool { return perDestKeys[optionName(key)] }

// optionName is key without a boolean's no- prefix.
func optionName(key string) string {
	if def, _ := lookup(key); def != nil {
		return def.Name
	}
	return key
}

func perDestList() string {
	var names []string
	for k := range perDestKeys {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// parseSectionHeader reads "[dest NAME]" and returns NAME.
func parseSectionHeader(line string) (string, error) {
	inner, ok := strings.CutSuffix(line, "]")
	if !ok {
		return "", fmt.Errorf("%q: a section header ends with ] (write [dest NAME])", line)
	}
	fields := strings.Fields(strings.TrimPrefix(inner, "["))
	switch {
	case len(fields) == 0 || fields[0] != "dest":
		return "", fmt.Errorf("%q is not a known section: the only one is [dest NAME], one per destination", line)
	case len(fields) == 1:
		return "", fmt.Errorf("%q has no name: write [dest NAME], e.g. [dest offsite]", line)
	case len(fields) > 2:
		return "", fmt.Errorf("%q: a destination's name is one word (letters, digits, . _ -)", line)
	}
	if err := checkDestName(fields[1]); err != nil {
		return "", fmt.Errorf("%q: %w", line, err)
	}
	return fields[1], nil
}

// checkDestName keeps names usable on a command line (sync --dest NAME)
// and in logs and metrics labels.
func checkDestName(name string) error {
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return fmt.Errorf("destination name %q: use only letters, digits, . _ and -", name)
		}
	}
	if strings.Contains(name, "::") || strings.HasPrefix(name, "-") {
		return fmt.Errorf("destination name %q must not look like a destination or an option", name)
	}
	return nil
}

// section is one [dest NAME] section of the config file.
type section struct {
	name   string
	origin string // FILE:LINE of its header
	opts   []Option
}

// splitSections separates the file's top-level options from its sections.
func splitSections(opts []Option) (top []Option, secs []section) {
	for _, o := range opts {
		switch {
		case o.Key == sectionKey:
			secs = append(secs, section{name: o.Value, origin: o.Origin})
		case o.Section == "":
			top = append(top, o)
		default:
			s := &secs[len(secs)-1]
			s.opts = append(s.opts, o)
		}
	}
	return top, secs
}
