package main

import (
	"flag"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfs/mirrorfs/config"
)

// urfave/cli keeps only the last value of a flag given twice. The flags
// generated from config's key table keep every occurrence instead, so
// config.Load can refuse `--dest A --dest B` rather than mirror to B only.

type stringOptionFlag struct {
	cli.StringFlag
	given []string
}

type boolOptionFlag struct {
	cli.BoolFlag
	given []string
}

func (f *stringOptionFlag) Apply(set *flag.FlagSet) error {
	f.given = nil
	set.Var(&occurrences{vals: &f.given}, f.Name, f.Usage)
	return nil
}

func (f *boolOptionFlag) Apply(set *flag.FlagSet) error {
	f.given = nil
	set.Var(&occurrences{vals: &f.given, isBool: true}, f.Name, f.Usage)
	return nil
}

func (f *stringOptionFlag) options() []config.Option { return asOptions(f.Name, f.given) }
func (f *boolOptionFlag) options() []config.Option   { return asOptions(f.Name, f.given) }

func asOptions(name string, vals []string) []config.Option {
	var opts []config.Option
	for _, v := range vals {
		opts = append(opts, config.Option{Key: name, Value: v, HasValue: true, Origin: "--" + name})
	}
	return opts
}

// occurrences is the flag.Value of an option flag. Values are checked by
// config, so the error names the option the way -o and the file do.
type occurrences struct {
	vals   *[]string
	isBool bool
}

func (o *occurrences) Set(s string) error {
	*o.vals = append(*o.vals, s)
	return nil
}

func (o *occurrences) String() string {
	if o == nil || o.vals == nil || len(*o.vals) == 0 {
		return ""
	}
	return (*o.vals)[len(*o.vals)-1]
}

func (o *occurrences) IsBoolFlag() bool { return o.isBool }
