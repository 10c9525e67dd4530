package main

import "strings"

// normalizeArgs moves positional arguments of a subcommand behind its flags.
// urfave/cli stops parsing flags at the first positional argument, but
// `mirrorfs mount /data --dest ...` and mount(8) (`mirrorfs SRC DIR -o ...`)
// put them first. valued tells which flags take a separate value. Everything
// after "--" stays positional.
func normalizeArgs(args []string, valued map[string]bool) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if valued[name] && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if len(pos) == 0 {
		return flags
	}
	out := append(flags, "--")
	return append(out, pos...)
}
