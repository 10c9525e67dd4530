package main

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/mirrorfs/mirrorfs/config"
	"github.com/mirrorfs/mirrorfs/internal/exitcode"
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
			flags = append(flags, &boolOptionFlag{BoolFlag: cli.BoolFlag{Name: k.Name, Usage: usage}})
			if k.Negatable {
				flags = append(flags, &boolOptionFlag{BoolFlag: cli.BoolFlag{Name: "no-" + k.Name, Usage: "turn off --" + k.Name}})
			}
			continue
		}
		flags = append(flags, &stringOptionFlag{StringFlag: cli.StringFlag{Name: k.Name, Usage: usage}})
	}
	return append(flags, &cli.StringSliceFlag{
		Name:  "o",
		Usage: "options as in mount(8): key[=value],... (every flag has this form)",
	})
}

// loadOptions is how every command that takes mount options reads them.
func loadOptions(c *cli.Context) (config.Config, error) {
	cfg, err := config.Load(config.Sources{MountOptions: c.StringSlice("o"), Flags: flagOptions(c)})
	return cfg, withCode(exitcode.Usage, err)
}

// loadConfig is the mount command's configuration: options, positional
// arguments, validated.
func loadConfig(c *cli.Context) (config.Config, error) {
	cfg, err := loadOptions(c)
	if err != nil {
		return cfg, err
	}
	if err := positionals(c, &cfg); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, withCode(exitcode.Usage, err)
	}
	return cfg, nil
}

// flagOptions lists every occurrence of every option flag.
func flagOptions(c *cli.Context) []config.Option {
	var opts []config.Option
	for _, f := range c.Command.Flags {
		if of, ok := f.(interface{ options() []config.Option }); ok {
			opts = append(opts, of.options()...)
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
