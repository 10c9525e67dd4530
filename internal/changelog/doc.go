// Package changelog writes one line per shipped path in inotifywait's
// vocabulary: --timefmt and --format with %T %w %f %e %Xe, inotify's
// uppercase event names, and fields for when and how the change was
// shipped, so the ops article's changelist.log can be reproduced.
package changelog
