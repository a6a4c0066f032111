package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/testenv"
)

// nullSink takes every batch at once.
type nullSink struct{}

func (nullSink) Name() string                                          { return "null" }
func (nullSink) Write(context.Context, []Record) error                 { return nil }
func (nullSink) Ping(context.Context) error                            { return nil }
func (nullSink) Logs(context.Context, LogQuery) (LogPage, error)       { return LogPage{}, nil }
func (nullSink) Usage(context.Context, UsageQuery) ([]UsageRow, error) { return nil, nil }
func (nullSink) Close() error                                          { return nil }

// BenchmarkSubmit is the request path's hand-off: building a typical
// record (what the gateway fills in at settle time) and submitting it.
// A writer drains the queue into a sink that takes everything. The
// benchmark submits far faster than any gateway, so when the queue is
// three-quarters full it stops the clock until the writer has caught up:
// every measured Submit is a real enqueue, not the (cheaper) drop path.
func BenchmarkSubmit(b *testing.B) {
	p, err := New(Config{SpoolDir: b.TempDir()}, nullSink{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	tags := map[string]string{"env": "prod", "app": "billing"}
	verdicts := []Verdict{{Rule: "email", Action: "redact", Scope: "input", Count: 1}}
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		r := Record{
			RequestID: "01J9Z3Q4X8D2V6K7M5N1P0R3ST", Time: start,
			KeyID: "key_3f9a", KeyName: "billing-prod", Team: "payments", Tags: tags,
			EndUser: "user-1234", ClientIP: "10.1.2.3", UserAgent: "openai-python/1.40.0",
			Route: "/v1/chat/completions", Format: "openai", Model: "gpt-4o-mini",
			Provider: "openai", UpstreamModel: "gpt-4o-mini-2024-07-18", Stream: true,
			Status: 200, Attempts: 1,
			Latency: 320 * time.Millisecond, TTFT: 110 * time.Millisecond, UpstreamTime: 319 * time.Millisecond,
			Overhead:     90 * time.Microsecond,
			PromptTokens: 412, CompletionTokens: 96, CachedTokens: 128, CostUSD: 0.000119,
			Guardrails: verdicts,
		}
		p.Submit(&r)
		if len(p.queue) > cap(p.queue)*3/4 {
			b.StopTimer()
			for len(p.queue) > cap(p.queue)/4 {
				time.Sleep(100 * time.Microsecond)
			}
			b.StartTimer()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(p.Status().Dropped), "dropped")
}

// BenchmarkSubmitParallel is Submit from many request goroutines at once;
// it counts the waits for the writer in its time (no StopTimer in
// RunParallel), so it overstates the cost.
func BenchmarkSubmitParallel(b *testing.B) {
	p, err := New(Config{SpoolDir: b.TempDir()}, nullSink{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	r := sampleRecord(1, time.Now())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p.Submit(&r)
			for len(p.queue) > cap(p.queue)*3/4 {
				time.Sleep(100 * time.Microsecond) // let the writer catch up (see BenchmarkSubmit)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(p.Status().Dropped), "dropped")
}

func benchBatch(first, n int) []Record {
	out := make([]Record, n)
	now := time.Now().UTC()
	for i := range out {
		out[i] = sampleRecord(first+i, now)
	}
	return out
}

// BenchmarkEncodeBatch is the spool's encoding of a 1000-record batch.
func BenchmarkEncodeBatch(b *testing.B) {
	batch := benchBatch(0, 1000)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendBatch(buf[:0], batch)
	}
	b.ReportMetric(float64(len(buf))/1000, "bytes/record")
}

// BenchmarkSpoolAppend is one 1000-record frame appended and fsynced.
func BenchmarkSpoolAppend(b *testing.B) {
	s, err := openSpool(b.TempDir(), 1<<40, 64<<20, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	frame := appendBatch(make([]byte, frameHeader), benchBatch(0, 1000))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.append(frame); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkSQLiteWrite is the embedded sink's throughput, batches of 1000.
func BenchmarkSQLiteWrite(b *testing.B) {
	s, err := OpenSQLite(filepath.Join(b.TempDir(), SQLiteFile), SQLiteOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	benchSinkWrite(b, s)
}

// BenchmarkPostgresWrite is the PostgreSQL sink's throughput (batches of
// 1000, unique rows) with plain COPY and with de-duplication.
func BenchmarkPostgresWrite(b *testing.B) {
	for _, dedup := range []bool{false, true} {
		name := "plain"
		if dedup {
			name = "dedup"
		}
		b.Run(name, func(b *testing.B) {
			s := openTestPostgres(b, testenv.Postgres(b), PostgresOptions{Dedup: dedup})
			if err := s.Ping(context.Background()); err != nil {
				b.Fatal(err)
			}
			benchSinkWrite(b, s)
		})
	}
}

func benchSinkWrite(b *testing.B, s Sink) {
	ctx := context.Background()
	// Batches are built ahead (the pipeline builds them off the sink's
	// clock); each iteration writes 1000 new rows.
	const size = 1000
	batches := make([][]Record, 64)
	for i := range batches {
		batches[i] = benchBatch(i*size, size)
	}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		batch := batches[n%len(batches)]
		if n >= len(batches) {
			b.StopTimer()
			for i := range batch {
				batch[i].RequestID = fmt.Sprintf("req-%010d", n*size+i)
			}
			b.StartTimer()
		}
		if err := s.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*size)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkUsageJSON encodes a usage answer of 100,000 end users as the
// admin API does (encoding/json of {"data": rows}): the size of a 90-day
// answer by end user in bench/scripts/telemetry-10m.sh's data.
func BenchmarkUsageJSON(b *testing.B) {
	rows := make([]UsageRow, 100_000)
	for i := range rows {
		rows[i] = UsageRow{EndUser: fmt.Sprintf("user-%d", i), Requests: 90, Errors: 30, PromptTokens: 94_000,
			CompletionTokens: 23_000, CachedTokens: 2_900, CacheWriteTokens: 700, ReasoningTokens: 11_000, CostUSD: 0.0278613}
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		out, err := json.Marshal(map[string]any{"data": rows})
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.ReportMetric(float64(n), "bytes")
}
