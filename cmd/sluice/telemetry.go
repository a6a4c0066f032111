package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/telemetry"
	"github.com/sluice-gw/sluice/internal/tracing"
)

// openTracing starts the OTLP span exporter of cfg.Tracing.
func openTracing(cfg *config.Config, log *slog.Logger) (*tracing.Tracer, error) {
	tc := cfg.Tracing
	headers := make(map[string]string, len(tc.Headers))
	for k, v := range tc.Headers {
		headers[k] = v.Reveal()
	}
	tr, err := tracing.New(tracing.Config{
		Endpoint:    tc.Endpoint,
		SampleRatio: *tc.SampleRatio,
		ServiceName: tc.ServiceName,
		Headers:     headers,
		Logger:      log.With(slog.String("component", "tracing")),
	})
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	log.Info("tracing on", slog.String("endpoint", tc.Endpoint), slog.Float64("sample_ratio", *tc.SampleRatio))
	return tr, nil
}

// openTelemetry opens the log sink (PostgreSQL when storage.postgres_url is
// set, else SQLite in data_dir) and starts the pipeline. PostgreSQL may be
// down: the pipeline spools until it comes up. The returned close drains
// the queue (to the sink or the spool) and closes the sink.
func openTelemetry(ctx context.Context, cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) (*telemetry.Pipeline, telemetry.Sink, func(), error) {
	t := &cfg.Telemetry
	log = log.With(slog.String("component", "telemetry"))
	var sink telemetry.Sink
	if url := cfg.Storage.PostgresURL.Reveal(); url != "" && t.Sink != "sqlite" {
		pg, err := telemetry.OpenPostgres(ctx, url, telemetry.PostgresOptions{Dedup: *t.Dedup, Retention: t.Retention.D(), Logger: log})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("telemetry: %w", err)
		}
		sink = pg
	} else {
		sl, err := telemetry.OpenSQLite(filepath.Join(cfg.DataDir, "telemetry.db"), telemetry.SQLiteOptions{Retention: t.Retention.D(), Logger: log})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("telemetry: %w", err)
		}
		sink = sl
	}
	p, err := telemetry.New(telemetry.Config{
		QueueSize:     t.QueueSize,
		BatchSize:     t.BatchSize,
		FlushInterval: t.FlushInterval.D(),
		SpoolDir:      filepath.Join(cfg.DataDir, "spool"),
		SpoolMaxBytes: int64(t.SpoolMax),
		SinkTimeout:   t.SinkTimeout.D(),
		Retention:     t.Retention.D(),
		Logger:        log,
		Registerer:    reg,
	}, sink)
	if err != nil {
		_ = sink.Close()
		return nil, nil, nil, fmt.Errorf("telemetry: %w", err)
	}
	log.Info("request logging on", slog.String("sink", sink.Name()), slog.String("log_bodies", t.LogBodies))
	closeFn := func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Close(cctx); err != nil {
			log.Warn("draining request logs on shutdown", slog.String("error", err.Error()))
		}
		_ = sink.Close()
	}
	return p, sink, closeFn, nil
}
