// Package metrics exports the engines' status to Prometheus: a collector
// that reads a status snapshot at scrape time (one mirror.Status per
// destination), the /metrics endpoint on TCP or a unix socket, and the
// text exposition format for node_exporter's textfile collector.
package metrics
