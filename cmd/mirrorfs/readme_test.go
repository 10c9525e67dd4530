package main

import (
	"os"
	"strings"
	"testing"

	"github.com/mirrorfs/mirrorfs/config"
)

// TestReadmeListsEveryOption: every option has a row in the README's
// options table, so a sysadmin finds each one in one place.
func TestReadmeListsEveryOption(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "### Options")
	if start < 0 {
		t.Fatal("README.md has no \"### Options\" section")
	}
	table := text[start:]
	if end := strings.Index(table[len("### Options"):], "\n### "); end >= 0 {
		table = table[:len("### Options")+end]
	}
	var rows []string
	for _, l := range strings.Split(table, "\n") {
		if strings.HasPrefix(l, "| `") {
			rows = append(rows, strings.SplitN(l, "|", 3)[1])
		}
	}
	for _, k := range config.Keys() {
		found := false
		for _, r := range rows {
			if strings.Contains(r, "`"+k.Name+"`") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("option %q has no row in README.md's options table", k.Name)
		}
	}
}
