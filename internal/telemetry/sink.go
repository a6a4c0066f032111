package telemetry

import (
	"context"
	"errors"
	"time"
)

// Sink stores records and answers the admin queries. Postgres and SQLite
// implement it.
type Sink interface {
	// Name is a short label for logs ("postgres", "sqlite").
	Name() string
	// Write stores a batch. It is idempotent on request_id: writing a
	// record twice (a replay after a crash) stores it once. An error
	// wrapping ErrRejected means the batch holds a record the sink will
	// never take; any other error is taken as the sink being down or slow.
	Write(ctx context.Context, batch []Record) error
	// Ping reports whether the sink can take writes.
	Ping(ctx context.Context) error
	// Logs returns one page of records, newest first.
	Logs(ctx context.Context, q LogQuery) (LogPage, error)
	// Usage sums requests, errors, tokens and cost per group.
	Usage(ctx context.Context, q UsageQuery) ([]UsageRow, error)
	// Close releases the sink's connections.
	Close() error
}

// Pruner is implemented by sinks that can delete old rows; the pipeline
// calls it when Config.Retention is set.
type Pruner interface {
	// Prune deletes rows older than before (PostgreSQL: whole day
	// partitions that end at or before it).
	Prune(ctx context.Context, before time.Time) error
}

// ErrRejected marks a Write error caused by the data rather than by the
// sink's health (an invalid value). The pipeline splits such a batch to
// find the record at fault and drops only that one, counted.
var ErrRejected = errors.New("telemetry: sink rejected the batch")

var (
	_ Sink   = (*Postgres)(nil)
	_ Sink   = (*SQLite)(nil)
	_ Pruner = (*Postgres)(nil)
	_ Pruner = (*SQLite)(nil)
)
