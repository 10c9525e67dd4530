package config

import (
	"github.com/mirrorfs/mirrorfs/internal/changelog"
	"github.com/mirrorfs/mirrorfs/mirror"
)

// Checks of the exclude and change log options, done where they are set so
// that the error names the source (flag, -o or file line).

func checkExclude(s string) (string, error) {
	_, err := mirror.CompileExclude(s)
	return s, err
}

func checkFormat(s string) (string, error) {
	_, err := changelog.ParseFormat(s)
	return s, err
}

func checkTimeFmt(s string) (string, error) {
	_, err := changelog.ParseTimeFmt(s)
	return s, err
}

func checkEvents(s string) (string, error) {
	_, err := changelog.ParseEvents(s)
	return s, err
}
