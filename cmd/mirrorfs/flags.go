package main

import (
	"fmt"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
	"path/filepath"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfs/mirrorfs/config"
)

// mountFlags is generated from config's key table, so a flag, a -o option
// and a config-file line are the same thing under the same name.
func mountFlags() []cli.Flag {
	var flags []cli.Flag
	for _, k := range config.Keys() {
		usage := k.Usage
		if k.Default != "" {
			usage += fmt.Sprintf(" (default: %s)", k.Default)
		}
		if k.Kind == config.KindBool {
			flags = append(flags, &cli.BoolFlag{Name: k.Name, Usage: usage})
			if k.Negatable {
				flags = append(flags, &cli.BoolFlag{Name: "no-" + k.Name, Usage: "turn off --" + k.Name})
			}
			continue
		}
		flags = append(flags, &cli.StringFlag{Name: k.Name, Usage: usage})
	}
	return append(flags, &cli.StringSliceFlag{
		Name:  "o",
		Usage: "options as in mount(8): key[=value],... (every flag has this form)",
	})
}

// loadConfig builds the configuration: defaults < config file < -o < flags.
func loadConfig(c *cli.Context) (config.Config, error) {
	cfg := config.Defaults()

	var mountOpts []config.Option
	for _, o := range c.StringSlice("o") {
		opts, err := config.ParseMountOptions(o)
		if err != nil {
			return cfg, withCode(exitcode.Usage, err)
		}
		mountOpts = append(mountOpts, opts...)
	}

	file := c.String("config")
	var rest []config.Option
	for _, o := range mountOpts {
		if o.Key == "config" {
			file = o.Value
			continue
		}
		rest = append(rest, o)
	}
	if file != "" {
		opts, err := config.ParseFile(file)
		if err != nil {
			return cfg, withCode(exitcode.Usage, err)
		}
		if err := cfg.Apply(opts); err != nil {
			return cfg, withCode(exitcode.Usage, err)
		}
	}
	if err := cfg.Apply(rest); err != nil {
		return cfg, withCode(exitcode.Usage, err)
	}
	if err := cfg.Apply(flagOptions(c)); err != nil {
		return cfg, withCode(exitcode.Usage, err)
	}

	if err := positionals(c, &cfg); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, withCode(exitcode.Usage, err)
	}
	return cfg, nil
}

func flagOptions(c *cli.Context) []config.Option {
	var opts []config.Option
	for _, k := range config.Keys() {
		if k.Name == "config" {
			continue
		}
		if k.Kind == config.KindBool {
			if c.IsSet(k.Name) {
				opts = append(opts, config.Option{Key: k.Name, Value: strconv.FormatBool(c.Bool(k.Name)), HasValue: true, Origin: "--" + k.Name})
			}
			if k.Negatable && c.IsSet("no-"+k.Name) && c.Bool("no-"+k.Name) {
				opts = append(opts, config.Option{Key: k.Name, Value: "false", HasValue: true, Origin: "--no-" + k.Name})
			}
			continue
		}
		if c.IsSet(k.Name) {
			opts = append(opts, config.Option{Key: k.Name, Value: c.String(k.Name), HasValue: true, Origin: "--" + k.Name})
		}
	}
	return opts
}

// positionals takes MOUNTPOINT, or SOURCE MOUNTPOINT as mount(8) passes them.
func positionals(c *cli.Context, cfg *config.Config) error {
	args := c.Args().Slice()
	switch len(args) {
	case 1:
		cfg.Mountpoint = args[0]
	case 2:
		if cfg.Source == "" {
			cfg.Source = args[0]
		}
		cfg.Mountpoint = args[1]
	case 0:
		return codef(exitcode.Usage, "no mountpoint given: usage `mirrorfs mount --dest DEST [options] MOUNTPOINT`")
	default:
		return codef(exitcode.Usage, "too many arguments %q: usage `mirrorfs mount --dest DEST [options] MOUNTPOINT`", args)
	}
	mp, err := filepath.Abs(cfg.Mountpoint)
	if err != nil {
		return codef(exitcode.Usage, "mountpoint %q: %v", cfg.Mountpoint, err)
	}
	cfg.Mountpoint = mp
	if cfg.Source != "" {
		src, err := filepath.Abs(cfg.Source)
		if err != nil {
			return codef(exitcode.Usage, "source %q: %v", cfg.Source, err)
		}
		cfg.Source = src
	}
	if cfg.Source == cfg.Mountpoint {
		cfg.Source = "" // fstab's "/data /data fuse.mirrorfs ...": mount in place
	}
	return nil
}
