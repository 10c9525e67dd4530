package main

import (
	"reflect"
	"testing"
)

func TestNormalizeArgs(t *testing.T) {
	valued := map[string]bool{"dest": true, "o": true, "password-file": true}
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"flags first", []string{"--dest", "h::m", "/data"}, []string{"--dest", "h::m", "--", "/data"}},
		{"positional first", []string{"/data", "--dest", "h::m"}, []string{"--dest", "h::m", "--", "/data"}},
		{"mount helper order", []string{"/src", "/data", "-o", "dest=h::m,delay=1s"}, []string{"-o", "dest=h::m,delay=1s", "--", "/src", "/data"}},
		{"equals form", []string{"/data", "--dest=h::m", "--allow-other"}, []string{"--dest=h::m", "--allow-other", "--", "/data"}},
		{"value starting with dash", []string{"/data", "--dest", "-odd::m"}, []string{"--dest", "-odd::m", "--", "/data"}},
		{"double dash keeps dashes positional", []string{"--dest", "h::m", "--", "-weird"}, []string{"--dest", "h::m", "--", "-weird"}},
		{"no positionals", []string{"--json"}, []string{"--json"}},
		{"lone dash is positional", []string{"-"}, []string{"--", "-"}},
		{"unknown flag left for the parser", []string{"/data", "--bogus"}, []string{"--bogus", "--", "/data"}},
		{"value missing at end", []string{"/data", "--dest"}, []string{"--dest", "--", "/data"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := normalizeArgs(tc.in, valued)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("normalizeArgs(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
