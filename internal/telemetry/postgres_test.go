package telemetry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/migrate"
	"github.com/sluice-gw/sluice/internal/testenv"
)

func openTestPostgres(t testing.TB, url string, opts PostgresOptions) *Postgres {
	t.Helper()
	s, err := OpenPostgres(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func pgCount(t testing.TB, s *Postgres, where string, args ...any) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM request_logs `+where, args...).Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

// pgDuplicates counts request ids stored more than once.
func pgDuplicates(t testing.TB, s *Postgres) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM
(SELECT request_id FROM request_logs GROUP BY request_id HAVING count(*) > 1) d`).Scan(&n); err != nil {
		t.Fatalf("count duplicates: %v", err)
	}
	return n
}

func TestPostgresSink(t *testing.T) {
	for _, dedup := range []bool{true, false} {
		t.Run(fmt.Sprintf("dedup=%v", dedup), func(t *testing.T) {
			testSinkSuite(t, openTestPostgres(t, testenv.Postgres(t), PostgresOptions{Dedup: dedup}))
		})
	}
}

func TestPostgresOpenWhileDown(t *testing.T) {
	// A port nothing listens on: Open succeeds, the calls fail.
	s := openTestPostgres(t, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", PostgresOptions{})
	ctx := context.Background()
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping succeeded with no server")
	}
	if err := s.Write(ctx, batchOf(0, 1)); err == nil || errors.Is(err, ErrRejected) {
		t.Fatalf("Write: err = %v, want a (not rejected) failure", err)
	}
	if _, err := s.Logs(ctx, LogQuery{}); err == nil {
		t.Fatal("Logs succeeded with no server")
	}
	if _, err := OpenPostgres(ctx, "mysql://nope", PostgresOptions{}); err == nil {
		t.Fatal("OpenPostgres accepted a non-postgres URL")
	}
	if _, err := OpenPostgres(ctx, "postgres://u:hunter2@[::1", PostgresOptions{}); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("bad URL: err = %v (must fail without quoting the password)", err)
	}
}

func TestPostgresDuplicates(t *testing.T) {
	for _, dedup := range []bool{true, false} {
		t.Run(fmt.Sprintf("dedup=%v", dedup), func(t *testing.T) {
			s := openTestPostgres(t, testenv.Postgres(t), PostgresOptions{Dedup: dedup})
			ctx := context.Background()
			batch := batchOf(0, 50)
			for range 3 { // a replay, twice
				if err := s.Write(ctx, batch); err != nil {
					t.Fatalf("Write: %v", err)
				}
			}
			// A duplicate inside one batch, and one already stored.
			inBatch := append(batchOf(100, 3), batchOf(100, 1)[0], batch[0])
			if err := s.Write(ctx, inBatch); err != nil {
				t.Fatalf("Write with duplicates inside: %v", err)
			}
			if n := pgCount(t, s, ""); n != 53 {
				t.Fatalf("%d rows, want 53", n)
			}
			if n := pgDuplicates(t, s); n != 0 {
				t.Fatalf("%d request ids stored more than once", n)
			}
		})
	}
}

func TestPostgresSanitizesText(t *testing.T) {
	s := openTestPostgres(t, testenv.Postgres(t), PostgresOptions{Dedup: true})
	r := sampleRecord(1, time.Now())
	r.UserAgent = "bad\x00agent\xff"
	r.Tags = map[string]string{"k\x00": "v\xfe\x00"}
	r.Guardrails = []Verdict{{Rule: "r\x00", Action: "block", Scope: "input", Count: 1}}
	if err := s.Write(context.Background(), []Record{r}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	pg, err := s.Logs(context.Background(), LogQuery{RequestID: r.RequestID})
	if err != nil || len(pg.Data) != 1 {
		t.Fatalf("Logs: %v, %d rows", err, len(pg.Data))
	}
	got := pg.Data[0]
	if got.UserAgent != "badagent\uFFFD" || got.Tags["k"] != "v\uFFFD" || got.Guardrails[0].Rule != "r" {
		t.Fatalf("sanitized values: %q %q %q", got.UserAgent, got.Tags, got.Guardrails[0].Rule)
	}
}

func partitions(t *testing.T, s *Postgres) []string {
	t.Helper()
	names, err := s.listPartitions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func TestPostgresPartitionsAndRetention(t *testing.T) {
	url := testenv.Postgres(t)
	now := time.Date(2025, 5, 20, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := openTestPostgres(t, url, PostgresOptions{Clock: clock, PartitionsAhead: 2})
	ctx := context.Background()
	// A replayed record from long ago, and one of today.
	old := sampleRecord(1, time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC))
	today := sampleRecord(2, now)
	if err := s.Write(ctx, []Record{old, today}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	want := []string{"request_logs_p20241231", "request_logs_p20250520", "request_logs_p20250521", "request_logs_p20250522"}
	if got := partitions(t, s); !slices.Equal(got, want) {
		t.Fatalf("partitions = %v, want %v", got, want)
	}
	// Another instance that believes a dropped partition exists recreates it.
	other := openTestPostgres(t, url, PostgresOptions{Clock: clock, PartitionsAhead: 2})
	if err := other.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Prune(ctx, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if got := partitions(t, s); slices.Contains(got, "request_logs_p20241231") {
		t.Fatalf("partition of 2024-12-31 not dropped: %v", got)
	}
	if err := other.Write(ctx, []Record{sampleRecord(3, old.Time)}); err != nil {
		t.Fatalf("Write after another instance dropped the partition: %v", err)
	}
	if n := pgCount(t, s, "WHERE request_id = $1", "req-00000003"); n != 1 {
		t.Fatalf("row not written")
	}
	// Retention through the option: the write an hour later prunes days
	// that ended more than 30 days before.
	r := openTestPostgres(t, url, PostgresOptions{Clock: clock, Retention: 30 * 24 * time.Hour})
	if err := r.Write(ctx, []Record{sampleRecord(4, now)}); err != nil {
		t.Fatal(err)
	}
	if got := partitions(t, s); slices.Contains(got, "request_logs_p20241231") || !slices.Contains(got, "request_logs_p20250520") {
		t.Fatalf("after retention: %v", got)
	}
}

func TestPostgresConcurrentMigrations(t *testing.T) {
	url := testenv.Postgres(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := OpenPostgres(ctx, url, PostgresOptions{})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			errs <- s.Ping(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	s := openTestPostgres(t, url, PostgresOptions{})
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE component = 'telemetry'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	ms, err := migrate.Load(migrationFiles, "migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	if want := len(ms); n != want { // each migration once
		t.Fatalf("schema_migrations has %d telemetry rows, want %d", n, want)
	}
}

// TestPostgresSchemaMigrationsShape checks that schema_migrations is the
// table internal/migrate defines for every component: same columns, types
// and key.
func TestPostgresSchemaMigrationsShape(t *testing.T) {
	s := openTestPostgres(t, testenv.Postgres(t), PostgresOptions{})
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := s.pool.Query(ctx, `SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns
WHERE table_name = 'schema_migrations' ORDER BY ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var c, ty, null string
		if err := rows.Scan(&c, &ty, &null); err != nil {
			t.Fatal(err)
		}
		got = append(got, c+" "+ty+" "+null)
	}
	want := []string{"component text NO", "version integer NO", "name text NO", "applied_at timestamp with time zone NO"}
	if !slices.Equal(got, want) {
		t.Fatalf("schema_migrations columns = %v, want %v", got, want)
	}
}

func TestPostgresPipelineEndToEnd(t *testing.T) {
	s := openTestPostgres(t, testenv.Postgres(t), PostgresOptions{Dedup: true})
	p := newTestPipeline(t, Config{BatchSize: 100, FlushInterval: 10 * time.Millisecond}, s)
	submitN(t, p, 0, 2500)
	closePipeline(t, p)
	if n := pgCount(t, s, ""); n != 2500 {
		t.Fatalf("%d rows, want 2500", n)
	}
}
