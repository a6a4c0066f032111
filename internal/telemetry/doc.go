// Package telemetry logs every request: the gateway builds one Record per
// request once the reply is done (on every exit path) and hands it to a
// Pipeline, which stores it in a Sink — PostgreSQL (COPY into a table
// partitioned by day) or SQLite (the embedded default) — and, when the
// sink is down or slow, in a disk spool that it replays once the sink
// recovers. The sinks also answer the admin API's queries (Logs, Usage).
//
// # Request path
//
// Pipeline.Submit copies the record (taking a recycled one from a pool)
// and puts a pointer on a bounded channel: no I/O, no lock held across
// I/O, no wait. BenchmarkSubmit measures building and submitting a typical
// record at well under a microsecond of CPU and one allocation (the copy
// of the guardrail verdicts); the budget is 5 µs. Submit never blocks: a
// full queue drops the record, counts it and returns false.
//
// # Pipeline
//
// A batcher cuts the queue into batches of Config.BatchSize, or whatever
// is queued every Config.FlushInterval. It hands each batch to the writer
// if the writer takes it within a flush interval, and otherwise (the
// writer is busy with a slow write, replaying, or the sink is down) it
// appends the batch to the spool itself. The writer is the only goroutine
// that talks to the sink: it writes a batch within Config.SinkTimeout, and
// on any failure spools that batch and marks the sink down. While down it
// pings the sink with backoff (100 ms doubling to 1 s); once a ping
// succeeds it replays the spool oldest first, about a batch per write,
// then takes batches directly again. Spooled records therefore reach a
// recovered sink within about a second plus the replay time (well inside
// the 10 s the admin API promises). Order is kept within the spool; a
// batch in flight when the sink fails may land in the spool after
// batches cut while its write was timing out (rows carry their own time,
// so queries do not depend on write order).
//
// New never waits for the sink: with the database down at start it
// spools from the first batch, logs "sink down or slow; spooling", and
// Status (for /readyz detail) says SinkUp false, Spooling true; it catches
// up by itself when the database comes back.
//
// # Spool
//
// Config.SpoolDir holds append-only segment files (NNNNNNNNNNNNNNNNNNNN.seg).
// Each frame is one batch: a 4-byte length, a CRC-32C of length and
// payload, and the payload (a compact binary encoding, codec.go). Every
// append is fsynced before the records count as spooled. A new segment
// starts at Config.SpoolSegmentBytes; a segment is deleted only after all
// of its records are in the sink. At start, existing segments (a crash,
// or a shutdown with the sink down) are checked frame by frame: a torn or
// corrupt tail — a crash mid-write — fails the length or CRC check and is
// truncated, never replayed; then the segments are replayed. The spool is
// bounded by Config.SpoolMaxBytes.
//
// # Guarantees
//
//   - A record is durable once it is in the sink (its write committed) or
//     in the spool (its frame appended and fsynced).
//   - kill -9 loses at most about one flush interval of records: those
//     still in memory — the queue, and a batch waiting at most one
//     FlushInterval for the writer — plus the one batch being written to
//     the sink at that moment if that write had not committed (normally
//     milliseconds; bounded by SinkTimeout, after which the batch is
//     spooled). Everything durable is replayed at the next start.
//   - Nothing is lost silently. A record that cannot be kept — queue full,
//     spool full, spool write error, rejected by the sink as invalid, or
//     submitted after Close — is counted in
//     sluice_telemetry_dropped_total{reason} and reported by an error log
//     line (at most one per 10 s, with the counts since the last one).
//     While batches are dropped because the spool is full or failing,
//     Status.DropReason says so (for /readyz).
//   - Close drains the queue to the sink or the spool before returning
//     (and, while the sink is up, replays the spool until it is empty or
//     Close's context ends). Close does not close the sink: the caller
//     owns it (the admin API may still read it) and closes it after.
//   - Rows are idempotent on request_id, so a replay after a crash never
//     duplicates a row. Both sinks have a unique (request_id, time) — in
//     PostgreSQL a unique index on a partitioned table must include the
//     partition key — and a replayed record carries the time it was first
//     submitted with, so it collides and is skipped (INSERT OR IGNORE in
//     SQLite). Two requests that reuse one x-request-id are both kept,
//     unless they arrived within the same microsecond (PostgreSQL keeps
//     microseconds; SQLite nanoseconds).
//
// A spool replay can repeat a batch (a crash after the sink write and
// before the segment was deleted); idempotence makes that harmless.
//
// # Metrics
//
// On Config.Registerer (bounded labels only; golden file
// testdata/metrics.golden):
//
//	sluice_telemetry_queue_depth                  gauge      records in the in-memory queue
//	sluice_telemetry_written_total                counter    records written to the sink directly
//	sluice_telemetry_spooled_total                counter    records written to the spool
//	sluice_telemetry_replayed_total               counter    records replayed from the spool into the sink
//	sluice_telemetry_dropped_total{reason}        counter    queue_full | spool_full | spool_error | rejected | closed
//	sluice_telemetry_spool_bytes                  gauge      bytes in the spool
//	sluice_telemetry_sink_up                      gauge      1 while the sink takes writes, else 0
//	sluice_telemetry_batch_duration_seconds{dest} histogram  one batch write: dest sink (direct or replay) or spool
//
// Every record submitted is counted once as written, spooled or dropped;
// a spooled record is counted again when it leaves the spool, as
// replayed or as dropped{reason="rejected"}.
//
// # PostgreSQL
//
// OpenPostgres never connects: it succeeds with the database down. The
// first call that reaches the database runs the embedded migrations
// (migrations/postgres), recorded in schema_migrations under component
// "telemetry" by internal/migrate — the table and the advisory lock every
// component (auth too) shares, so instances and components never migrate
// concurrently. Table request_logs is
// range-partitioned by UTC day on time (request_logs_pYYYYMMDD); the sink
// creates today's partition and the next PartitionsAhead (3) days', and,
// before each write, the partition of any day a batch holds (a replayed
// old spool lands in its own day); it re-reads the partitions when a
// write finds one missing (another instance's retention). Retention drops
// whole day partitions that ended before now minus the retention, hourly.
// Indexes: (time, request_id) for logs newest first and usage over a time
// range (and the logs of a team, filtered); (key_id, time, request_id)
// and (end_user, time, request_id) for the logs of one key or end user;
// unique (request_id, time) for lookups and de-duplication; request_id
// makes the keyset order total. Writes are binary COPY (pgcopy.go), one
// transaction per batch (which also adds rows of rolled-up days to the
// usage rollups). With PostgresOptions.Dedup each batch is COPYed into a
// session temporary table and moved with INSERT ... ON CONFLICT DO
// NOTHING; without it a batch is one plain COPY, and only a batch that
// hits the unique index (a replay) is retried that way. Text is made storable first (NUL bytes
// dropped, invalid UTF-8 replaced), so no client-supplied value can fail
// a batch forever; a batch PostgreSQL still refuses as data (SQLSTATE
// class 22 or 23) is returned as ErrRejected, which the pipeline narrows
// down to the one record it drops and counts.
//
// # SQLite
//
// OpenSQLite opens its own file (data_dir/telemetry.db) in WAL mode with
// synchronous=NORMAL (durable across a process crash), migrates it
// (migrations/sqlite, the same schema_migrations shape), and writes each
// batch in one transaction of INSERT OR IGNORE. It has the same indexes
// and rollups; retention deletes old rows hourly.
//
// # Usage rollups
//
// Both sinks keep four daily rollup tables (rollup.go, the 0002 migrations):
// per UTC day, the sums GET /admin/v1/usage returns, per (team, model),
// (key, team), (key, team, model) and (key, team, model, end user); a
// query reads the smallest that has its groups. A day is rolled up once it
// has ended: in the background (the sink's roller, kicked by writes; a
// failure is logged and retried a minute later) one transaction sums the
// day's rows into the four tables and moves usage_rollup_state's
// finalized_before past it. A record written later for a rolled-up day (a
// spool replay, a late batch) is aggregated in Go with the others of its
// batch and added to the four tables with one UPSERT each, in the
// transaction that stores it, and only if it was inserted (PostgreSQL:
// COPY is all or nothing, the dedup path's INSERT ... RETURNING names the
// rows; SQLite: INSERT OR IGNORE's rows affected). Writes of today's rows,
// the usual case, touch no rollup. In PostgreSQL a day's advisory lock
// orders the two: each write holds the shared locks of its batch's days
// before it reads finalized_before, the roll-up holds the day's lock
// exclusively, so a row is either summed by the roll-up or added by its
// write, never both or neither (TestPostgresRollupRace); days without rows
// are skipped under a lock every write holds shared. SQLite's
// transactions are serial.
//
// So a rolled-up day's rollup rows always sum exactly its rows, and a
// usage query over [Since, Until) reads the rolled-up whole UTC days in
// its range from a rollup table and the rest (the partial first and last
// days, today, any day not rolled up yet) from request_logs, in one SQL
// statement: the answer is the rows' answer, costs to floating-point
// rounding (the sums are added in another order). Retention keeps the
// rollups equal to the rows: PostgreSQL deletes a day's rollup rows in
// the transaction that drops its partition; SQLite deletes the rollups of
// the days before the cutoff's day and sums that day again from the rows
// it keeps. Migration 0002 rolls up the days before today from the rows
// already there; rows that an older binary writes afterwards for those
// days (a rolling upgrade's replays) are not: upgrade together every
// instance that writes to one database.
//
// Two daily tables barely shrink on busy data — a row per key and model,
// and per key, model and end user, every day — so they have a coarse
// tier (span.go, the 0003 migrations): the same sums over buckets of 2,
// 4, 8, 16, 32 and 64 days aligned on day numbers, by (key, team, model)
// and by end user alone. A bucket is summed from its halves in the
// transaction that rolls up its last day (in PostgreSQL holding the
// rollup locks of all its days), late records are added to every
// complete bucket that holds their day, and retention drops the buckets
// that hold a deleted day and moves usage_rollup_state.spans_from past
// them. An open bucket sums the rolled-up days of the current 64-day
// bucket (each roll-up adds its day). A query by those groups without day
// splits its whole rolled-up days into at most two buckets of each width
// and two single days (cover), and takes its last days from the open
// bucket when it ends where the rollups do (the last N days): the last 90
// days read 2 to 7 pieces (4 or fewer on half the days) instead of 90.
// PostgreSQL sums the integers with usage_sum (bigint addition;
// sum(bigint) returns a numeric and cost a third of such a query).
//
// # Queries
//
// Logs returns records newest first, by (time, request_id), with keyset
// pagination: NextCursor is an opaque base64url encoding of the last
// row's (time, request_id), and the next page asks for rows before it —
// never OFFSET, so each page costs the same however deep; it filters by
// request id, key, model, status, end user, team and time. Usage sums
// requests, errors (status >= 400, 499 included), tokens (prompt,
// completion, cached, cache-write, reasoning) and cost per group of any
// of key, team, model, end user and UTC day over [Since, Until), from the
// rollups and the time index. TestPostgresQueriesUseIndexes checks the
// plans on 100,000 rows; bench/scripts/telemetry-10m.sh times them on 10
// million. Only
// fixed SQL and whitelisted column names become query text; every value
// is a parameter. Invalid queries (bad cursor, negative limit, until
// before since, unknown group) return a *QueryError, which wraps
// ErrInvalidQuery (HTTP 400).
package telemetry
