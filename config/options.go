package config

import (
	"fmt"
	"strings"
)

// Option is one key[=value] from any source, in the order it was given.
type Option struct {
	Key      string
	Value    string
	HasValue bool
	Origin   string // "-o", "FILE:LINE" or "--flag", used to prefix errors
	Section  string // the config file's [dest NAME] section it is in; "" at the top
}

// checkKey rejects what no source may carry: unknown keys and "ro".
func checkKey(key string) error {
	if err := unsupported[key]; err != nil {
		return err
	}
	if IsMountOnlyOption(key) {
		return nil
	}
	if def, _ := lookup(key); def == nil {
		return unknownOption(key)
	}
	return nil
}

// ParseMountOptions splits a -o string: comma-separated key[=value] items.
// A comma inside a value is written \, or the value is quoted with "..." or
// '...'; inside quotes a backslash escapes the quote character or itself.
// Empty items are ignored. Keys are checked, values are left to Apply.
func ParseMountOptions(s string) ([]Option, error) {
	var opts []Option
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] != ',' && s[j] != '=' {
			j++
		}
		key := strings.TrimSpace(s[i:j])
		opt := Option{Key: key, Origin: "-o"}
		if j < len(s) && s[j] == '=' {
			val, next, err := scanValue(s, j+1)
			if err != nil {
				return nil, fmt.Errorf("-o: option %q: %w", key, err)
			}
			opt.Value, opt.HasValue = val, true
			j = next
		}
		i = j + 1
		if key == "" {
			if opt.HasValue {
				return nil, fmt.Errorf("-o: %q has no option name before '=' (write key=value)", "="+opt.Value)
			}
			continue
		}
		if err := checkKey(key); err != nil {
			return nil, fmt.Errorf("-o: %w", err)
		}
		opts = append(opts, opt)
	}
	return opts, nil
}

// scanValue reads a value starting at s[i] and returns it with the index of
// the comma that ends it (or len(s)).
func scanValue(s string, i int) (string, int, error) {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i < len(s) && (s[i] == '"' || s[i] == '\'') {
		val, end, err := scanQuoted(s, i)
		if err != nil {
			return "", 0, err
		}
		for end < len(s) && s[end] == ' ' {
			end++
		}
		if end < len(s) && s[end] != ',' {
			return "", 0, fmt.Errorf("unexpected text %q after the closing quote (quote the whole value)", s[end:])
		}
		return val, end, nil
	}
	var b strings.Builder
	for ; i < len(s) && s[i] != ','; i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == ',' || s[i+1] == '\\') {
			i++
		}
		b.WriteByte(s[i])
	}
	return strings.TrimRight(b.String(), " "), i, nil
}

// scanQuoted reads a quoted string starting at the quote s[i] and returns its
// content and the index just past the closing quote.
func scanQuoted(s string, i int) (string, int, error) {
	q := s[i]
	var b strings.Builder
	for i++; i < len(s); i++ {
		switch {
		case s[i] == q:
			return b.String(), i + 1, nil
		case s[i] == '\\' && i+1 < len(s) && (s[i+1] == q || s[i+1] == '\\'):
			i++
		}
		b.WriteByte(s[i])
	}
	return "", 0, fmt.Errorf("unterminated %c quote (close it with %c)", q, q)
}

// Apply sets each option in order; errors are prefixed with the option's
// origin. Mount-only options are skipped.
func (c *Config) Apply(opts []Option) error {
	for _, o := range opts {
		if IsMountOnlyOption(o.Key) || o.Key == sectionKey {
			continue
		}
		if err := c.set(o.Key, o.Value, o.HasValue); err != nil {
			if o.Origin == "" {
				return err
			}
			return fmt.Errorf("%s: %w", o.Origin, err)
		}
	}
	return nil
}
