package telemetry

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/migrate"
)

func openTestSQLite(t *testing.T, path string) *SQLite {
	t.Helper()
	s, err := OpenSQLite(path, SQLiteOptions{})
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSQLiteSink(t *testing.T) {
	testSinkSuite(t, openTestSQLite(t, filepath.Join(t.TempDir(), "sub", SQLiteFile)))
}

func TestSQLiteReopenKeepsRowsAndMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), SQLiteFile)
	s := openTestSQLite(t, path)
	ctx := context.Background()
	if err := s.Write(ctx, batchOf(0, 10)); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s2 := openTestSQLite(t, path)
	pg, err := s2.Logs(ctx, LogQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Data) != 10 {
		t.Fatalf("%d rows after reopen, want 10", len(pg.Data))
	}
	var n int
	if err := s2.db.QueryRow(`SELECT count(*) FROM schema_migrations WHERE component = 'telemetry'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	ms, err := migrate.Load(migrationFiles, "migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	if want := len(ms); n != want { // each migration once
		t.Fatalf("schema_migrations has %d telemetry rows, want %d", n, want)
	}
	var mode string
	if err := s2.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestSQLiteRetention(t *testing.T) {
	now := time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)
	s, err := OpenSQLite(filepath.Join(t.TempDir(), SQLiteFile), SQLiteOptions{
		Retention: 72 * time.Hour, Clock: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	old := sampleRecord(1, now.Add(-100*time.Hour))
	recent := sampleRecord(2, now.Add(-time.Hour))
	if err := s.Write(ctx, []Record{old, recent}); err != nil {
		t.Fatal(err)
	}
	// Retention ran before that write; the next hourly run deletes it.
	now = now.Add(2 * time.Hour)
	if err := s.Write(ctx, []Record{sampleRecord(3, now)}); err != nil {
		t.Fatal(err)
	}
	pg, err := s.Logs(ctx, LogQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := requestIDs(pg.Data); len(got) != 2 || got[0] != "req-00000003" || got[1] != "req-00000002" {
		t.Fatalf("rows after retention = %v", got)
	}
}

func TestSQLitePipelineEndToEnd(t *testing.T) {
	s := openTestSQLite(t, filepath.Join(t.TempDir(), SQLiteFile))
	p := newTestPipeline(t, Config{BatchSize: 50, FlushInterval: 5 * time.Millisecond}, s)
	submitN(t, p, 0, 1234)
	closePipeline(t, p)
	rows, err := s.Usage(context.Background(), UsageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Requests != 1234 {
		t.Fatalf("usage = %+v, want 1234 requests", rows)
	}
	// Batches the writer could not take within a flush interval went
	// through the spool; Close replayed them into the healthy sink.
	if st := p.Status(); st.Written+st.Replayed != 1234 || st.Dropped != 0 || st.SpoolBytes != 0 {
		t.Fatalf("status = %+v", st)
	}
}
