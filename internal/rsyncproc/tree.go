package rsyncproc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// maxTree bounds a walk; an rsync tree has one to three processes.
const maxTree = 64

// tree returns pid and its descendants, parents first.
func tree(pid int) []int {
	out := []int{pid}
	seen := map[int]bool{pid: true}
	for i := 0; i < len(out) && len(out) < maxTree; i++ {
		for _, k := range children(out[i]) {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// children lists the children of every thread of pid.
func children(pid int) []int {
	files, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if k, err := strconv.Atoi(s); err == nil {
				out = append(out, k)
			}
		}
	}
	return out
}
