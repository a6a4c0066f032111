package config

import "time"

// Telemetry configures request logging (internal/telemetry): one record per
// request, written off the request path to PostgreSQL when
// storage.postgres_url is set, else to SQLite in data_dir/telemetry.db.
// Zero value: off.
type Telemetry struct {
	// Enabled turns request logging on. Default false.
	Enabled bool `yaml:"enabled"`
	// Sink is where records go: postgres (storage.postgres_url, which must
	// then be set), sqlite (data_dir/telemetry.db) or, when empty,
	// PostgreSQL if storage.postgres_url is set and SQLite otherwise.
	Sink string `yaml:"sink"`
	// LogBodies is none (default), request or full (request and reply).
	// Bodies are logged with guardrail redactions applied, cut at
	// MaxBodyBytes.
	LogBodies string `yaml:"log_bodies"`
	// MaxBodyBytes caps each logged body. Default 64KiB.
	MaxBodyBytes ByteSize `yaml:"max_body_bytes"`
	// QueueSize is how many records wait in memory for the writer. Default
	// 65536; a full queue drops records and counts them.
	QueueSize int `yaml:"queue_size"`
	// BatchSize flushes a batch once it holds this many records. Default
	// 1000.
	BatchSize int `yaml:"batch_size"`
	// FlushInterval flushes a batch at least this often: kill -9 loses at
	// most this much. Default 100ms; at most 10s.
	FlushInterval Duration `yaml:"flush_interval"`
	// SinkTimeout sends a batch the database has not taken within it to the
	// disk spool instead. Default 2s.
	SinkTimeout Duration `yaml:"sink_timeout"`
	// SpoolMax bounds the disk spool (data_dir/spool) that holds batches
	// while the database is slow or down. Default 1GiB; when it is full,
	// records are dropped and counted.
	SpoolMax ByteSize `yaml:"spool_max"`
	// Retention deletes records older than this (PostgreSQL: whole day
	// partitions). Default 720h (30 days); 0s keeps everything.
	Retention *Duration `yaml:"retention"`
	// Dedup makes PostgreSQL writes idempotent on request_id, so a spool
	// replay after a crash never duplicates a row. Default true.
	Dedup *bool `yaml:"dedup"`
}

// Telemetry defaults.
const (
	DefaultLogBodies          = "none"
	DefaultMaxBodyBytes       = ByteSize(64 << 10)
	DefaultTelemetryQueue     = 65536
	DefaultTelemetryBatch     = 1000
	DefaultFlushInterval      = 100 * time.Millisecond
	DefaultSinkTimeout        = 2 * time.Second
	DefaultSpoolMax           = ByteSize(1 << 30)
	DefaultTelemetryRetention = 30 * 24 * time.Hour
	maxFlushInterval          = 10 * time.Second
)

func applyTelemetryDefaults(c *Config) {
	t := &c.Telemetry
	setDefault(&t.LogBodies, DefaultLogBodies)
	setDefault(&t.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&t.QueueSize, DefaultTelemetryQueue)
	setDefault(&t.BatchSize, DefaultTelemetryBatch)
	setDefault(&t.FlushInterval, Duration(DefaultFlushInterval))
	setDefault(&t.SinkTimeout, Duration(DefaultSinkTimeout))
	setDefault(&t.SpoolMax, DefaultSpoolMax)
	if t.Retention == nil {
		d := Duration(DefaultTelemetryRetention)
		t.Retention = &d
	}
	if t.Dedup == nil {
		b := true
		t.Dedup = &b
	}
}

func (v *validator) telemetry(t *Telemetry, st *Storage) {
	switch t.Sink {
	case "", "sqlite":
	case "postgres":
		if st.PostgresURL == "" {
			if raw, ok := v.emptied["storage.postgres_url"]; ok {
				v.errf("telemetry.sink", "postgres needs storage.postgres_url, but %q expanded to an empty string", raw)
			} else {
				v.errf("telemetry.sink", "postgres needs storage.postgres_url")
			}
		}
	default:
		v.errf("telemetry.sink", "unknown sink %q: want postgres or sqlite (or leave it empty)", t.Sink)
	}
	switch t.LogBodies {
	case "none", "request", "full":
	default:
		v.errf("telemetry.log_bodies", "unknown value %q: want none, request or full", t.LogBodies)
	}
	if t.MaxBodyBytes < 0 {
		v.errf("telemetry.max_body_bytes", "must not be negative, got %s", t.MaxBodyBytes)
	}
	if t.QueueSize < 1 {
		v.errf("telemetry.queue_size", "must be positive, got %d", t.QueueSize)
	}
	if t.BatchSize < 1 || t.BatchSize > 100_000 {
		v.errf("telemetry.batch_size", "must be between 1 and 100000, got %d", t.BatchSize)
	}
	if d := t.FlushInterval.D(); d < time.Millisecond || d > maxFlushInterval {
		v.errf("telemetry.flush_interval", "must be between 1ms and %s, got %s", maxFlushInterval, t.FlushInterval)
	}
	if t.SinkTimeout.D() < time.Millisecond {
		v.errf("telemetry.sink_timeout", "must be at least 1ms, got %s", t.SinkTimeout)
	}
	if t.SpoolMax < 1<<20 {
		v.errf("telemetry.spool_max", "must be at least 1MiB, got %s", t.SpoolMax)
	}
	if t.Retention != nil {
		v.notNegative("telemetry.retention", *t.Retention)
	}
}
