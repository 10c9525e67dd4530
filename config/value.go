package config

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1", "on":
		return true, nil
	case "false", "no", "0", "off":
		return false, nil
	}
	return false, errors.New("not a boolean")
}

// parseDuration accepts Go durations and plain integers as seconds.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > int64(time.Duration(1<<63-1)/time.Second) || n < -int64(time.Duration(1<<63-1)/time.Second) {
			return 0, errors.New("duration out of range")
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("not a duration (use e.g. 200ms, 2s, 5m, or plain seconds)")
	}
	return d, nil
}

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// ParseLogLevel maps a log-level option value to a slog level.
func ParseLogLevel(s string) (slog.Level, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "warning" {
		s = "warn"
	}
	if l, ok := logLevels[s]; ok {
		return l, nil
	}
	return 0, errors.New("not a log level (use debug, info, warn or error)")
}

func checkLogLevel(s string) (string, error) {
	l, err := ParseLogLevel(s)
	if err != nil {
		return "", err
	}
	for name, v := range logLevels {
		if v == l {
			return name, nil
		}
	}
	return "", errors.New("not a log level")
}

// defaultText writes a default as it would be typed; "" for no default
// (an empty string, or a zero count or duration, whose Usage says what
// unset means). Booleans always have one.
func defaultText(field any) string {
	switch p := field.(type) {
	case *bool:
		return strconv.FormatBool(*p)
	case *string:
		return *p
	case *int:
		if *p != 0 {
			return strconv.Itoa(*p)
		}
	case *time.Duration:
		if *p != 0 {
			return shortDuration(*p)
		}
	}
	return ""
}

// shortDuration drops the zero tails of time.Duration.String: 5m, not 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
