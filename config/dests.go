package config

import (
	"errors"
	"fmt"

	"github.com/mirrorfs/mirrorfs/mirror"
)

// DestConfig is one destination of a mount: the options that may differ
// between destinations (perDestKeys). Load builds one per dest given at
// the top (command line or file) and one per [dest NAME] section.
type DestConfig struct {
	Name         string // the section's name; "" names the destination by Dest
	Dest         string
	PasswordFile string
	Compress     bool
	Exclude      string
	ExcludeI     string
	Transport
	Origin string // where it was given: "--dest", "-o" or FILE:LINE
}

// DisplayName is how logs, status and `sync --dest` name the
// destination: as mirror.Config.DestName will.
func (d DestConfig) DisplayName() string {
	if d.Name != "" {
		return d.Name
	}
	return canonicalDest(d.Dest)
}

// destOf takes the per-destination fields of c.
func destOf(c *Config, name, origin string) DestConfig {
	return DestConfig{
		Name: name, Dest: c.Dest, PasswordFile: c.PasswordFile, Compress: c.Compress,
		Exclude: c.Exclude, ExcludeI: c.ExcludeI, Transport: c.Transport, Origin: origin,
	}
}

// with returns c with the per-destination fields of d.
func (c Config) with(d DestConfig) Config {
	c.Dest, c.PasswordFile, c.Compress = d.Dest, d.PasswordFile, d.Compress
	c.Exclude, c.ExcludeI, c.Transport = d.Exclude, d.ExcludeI, d.Transport
	return c
}

// buildDests fills c.Dests: one per top-level dest (from the command line
// if it gives any, else from the file's top), then one per section. A
// section starts from the top-level values and overrides them with its own.
func (c *Config) buildDests(line, fileTop []Option, secs []section) error {
	top := destOptions(line)
	if len(top) == 0 {
		top = destOptions(fileTop)
	}
	c.Dests = nil
	for _, o := range top {
		cc := *c
		cc.Dest = o.Value
		c.Dests = append(c.Dests, destOf(&cc, "", o.describe()))
	}
	for _, s := range secs {
		cc := *c
		cc.Dest = ""
		if err := cc.Apply(s.opts); err != nil {
			return err
		}
		if cc.Dest == "" {
			return fmt.Errorf("%s: section [dest %s] has no dest line (add dest = host::module/path)", s.origin, s.name)
		}
		origin := s.origin
		if o := destOptions(s.opts); len(o) > 0 {
			origin = o[0].Origin
		}
		c.Dests = append(c.Dests, destOf(&cc, s.name, origin))
	}
	if len(c.Dests) > 0 {
		c.Dest = c.Dests[0].Dest // what single-destination code reads
	}
	return checkDuplicateDests(c.Dests)
}

func destOptions(opts []Option) []Option {
	var out []Option
	for _, o := range opts {
		if o.Key == "dest" && o.HasValue && o.Value != "" {
			out = append(out, o)
		}
	}
	return out
}

// checkDuplicateDests refuses two destinations with one name or one
// destination string: they would share a journal and race on the module.
func checkDuplicateDests(ds []DestConfig) error {
	names := map[string]DestConfig{}
	dests := map[string]DestConfig{}
	for _, d := range ds {
		key := canonicalDest(d.Dest)
		if prev, ok := dests[key]; ok {
			return fmt.Errorf("destination %s %w (%s, %s): give each destination once", d.Dest, ErrRepeated, prev.Origin, d.Origin)
		}
		dests[key] = d
		if prev, ok := names[d.DisplayName()]; ok {
			return fmt.Errorf("destination name %q %w (%s, %s): give each destination its own name", d.DisplayName(), ErrRepeated, prev.Origin, d.Origin)
		}
		names[d.DisplayName()] = d
	}
	return nil
}

// canonicalDest is the destination as the engine sees it, so that
// rsync://h/m and h::m are the same; an unparsable one is itself (Engines
// reports it).
func canonicalDest(s string) string {
	if d, err := mirror.ParseDestination(s); err == nil {
		return d.String()
	}
	return s
}

// Engines is Engine for every destination: each gets the shared settings
// and its own per-destination ones, and its Name. The caller adds what
// only it has, as for Engine.
func (c Config) Engines() ([]mirror.Config, error) {
	ds := c.Dests
	if len(ds) == 0 && c.Dest != "" {
		ds = []DestConfig{destOf(&c, "", "dest")}
	}
	if len(ds) == 0 {
		return nil, errors.New("no destination: set dest")
	}
	var out []mirror.Config
	for _, d := range ds {
		m, err := c.with(d).Engine()
		if err != nil {
			if len(ds) > 1 {
				return nil, fmt.Errorf("destination %s (%s): %w", d.DisplayName(), d.Origin, err)
			}
			return nil, err
		}
		m.Name = d.Name
		out = append(out, m)
	}
	return out, nil
}
