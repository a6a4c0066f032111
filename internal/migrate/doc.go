// Package migrate applies the embedded SQL migrations of Sluice's
// components (internal/auth, internal/telemetry) to PostgreSQL and SQLite.
// It is the one place that defines what those components must share in a
// database, so that they never drift apart:
//
//   - the schema_migrations(component, version, name, applied_at) table,
//     keyed by (component, version), one definition per dialect;
//   - [PostgresLock], the transaction-scoped advisory lock every applier
//     takes first, so that instances (and components) never race to create
//     schema_migrations or apply the same file.
//
// A component embeds its own files (//go:embed migrations, named
// migrations/<dialect>/NNNN_name.sql), reads them with [Load] and applies
// them with [Postgres] or [SQLite] under its component name. This package
// imports neither auth nor telemetry.
//
// # How it fails
//
// [Load] fails on a directory it cannot read, an entry not named
// NNNN_name.sql (NNNN: decimal digits, 1 to 2147483647; name: not empty)
// and two files with the same version. [Postgres] and [SQLite] run every
// pending migration and its schema_migrations row in one transaction: on
// any error (database down, bad SQL, cancelled context) the transaction
// rolls back, nothing is recorded and the error, prefixed "migrate:",
// names the step or the file that failed; running again later retries the
// same files. Applying is idempotent: a migration already recorded for the
// component is skipped, so a second run applies 0.
package migrate
