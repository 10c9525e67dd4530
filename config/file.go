package config

import (
	"fmt"
	"os"
	"strings"
)

// ParseFile reads a config file: one "key = value" (or a boolean "key" alone)
// per line; blank lines and lines starting with # or ; are ignored. A value
// may be quoted with "..." or '...' to keep surrounding spaces; after the
// closing quote only a comment may follow. Unquoted values are taken as is,
// so a # inside them is part of the value. A "[dest NAME]" line starts the
// section of one destination (sections.go): the options after it carry
// Section NAME. Errors carry FILE:LINE.
func ParseFile(path string) ([]Option, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w (check the path given with --config or -o config=)", err)
	}
	text := strings.TrimPrefix(string(data), "\ufeff")
	var opts []Option
	sections := map[string]string{} // name: origin of its header
	section := ""
	for n, line := range strings.Split(text, "\n") {
		origin := fmt.Sprintf("%s:%d", path, n+1)
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if strings.HasPrefix(line, "[") {
			name, err := parseSectionHeader(line)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", origin, err)
			}
			if prev, dup := sections[name]; dup {
				return nil, fmt.Errorf("%s: section [dest %s] %w (also at %s): give each destination one section and its own name", origin, name, ErrRepeated, prev)
			}
			sections[name] = origin
			section = name
			opts = append(opts, Option{Key: sectionKey, Value: name, HasValue: true, Origin: origin, Section: name})
			continue
		}
		opt, ok, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", origin, err)
		}
		if ok {
			opt.Origin = origin
			opt.Section = section
			if section != "" && !perDestKeys[optionName(opt.Key)] {
				return nil, fmt.Errorf("%s: option %q cannot be set for one destination (section [dest %s]): move it above the first section, where it applies to all; a section takes only %s", origin, opt.Key, section, perDestList())
			}
			opts = append(opts, opt)
		}
	}
	return opts, nil
}

func parseLine(line string) (Option, bool, error) {
	if line == "" || line[0] == '#' || line[0] == ';' {
		return Option{}, false, nil
	}
	key, value, hasValue := strings.Cut(line, "=")
	key = strings.TrimSpace(key)
	switch {
	case key == "":
		return Option{}, false, fmt.Errorf("%q has no option name (write key = value)", line)
	case strings.ContainsAny(key, " \t"):
		return Option{}, false, fmt.Errorf("%q is not an option line (write key = value, or # for a comment)", line)
	case key == configKey:
		return Option{}, false, fmt.Errorf("option %q cannot be used inside a config file (config files do not include each other; give it as --config or -o config=)", key)
	}
	if err := checkKey(key); err != nil {
		return Option{}, false, err
	}
	value = strings.TrimSpace(value)
	if value != "" && (value[0] == '"' || value[0] == '\'') {
		v, end, err := scanQuoted(value, 0)
		if err != nil {
			return Option{}, false, fmt.Errorf("option %q: %w", key, err)
		}
		if rest := strings.TrimSpace(value[end:]); rest != "" && rest[0] != '#' && rest[0] != ';' {
			return Option{}, false, fmt.Errorf("option %q: unexpected text %q after the closing quote", key, rest)
		}
		value = v
	}
	return Option{Key: key, Value: value, HasValue: hasValue}, true, nil
}
