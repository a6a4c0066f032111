package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/net/http/httpguts"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultServiceName = "sluice"
	DefaultTimeout     = 10 * time.Second
)

// scopeName is the instrumentation scope the spans are reported under.
const scopeName = "github.com/sluice-gw/sluice/internal/tracing"

// ErrConfig is wrapped by every error New returns for a bad Config.
var ErrConfig = errors.New("invalid tracing config")

// ErrExport is wrapped by Shutdown's error when the final flush could not
// deliver every span.
var ErrExport = errors.New("trace export failed")

// Config configures a Tracer. The zero value is "tracing off".
type Config struct {
	// Endpoint is the full OTLP/HTTP traces URL, e.g.
	// "http://127.0.0.1:4318/v1/traces"; scheme http or https, no user
	// info or query (put credentials in Headers). Empty: tracing off, New
	// returns a nil *Tracer.
	Endpoint string
	// SampleRatio (0..1) is the share of requests traced among those that
	// carry no sampled traceparent. Zero traces only requests whose
	// traceparent says sampled; see Tracer.Sample for the whole rule.
	SampleRatio float64
	// ServiceName is the resource's service.name; empty means "sluice".
	ServiceName string
	// Headers are sent with every export (e.g. an auth token). They are
	// never logged.
	Headers map[string]string
	// Timeout bounds one export, retries included; zero means 10s.
	Timeout time.Duration
	// Logger receives export failures and recoveries (one line per change
	// of state, not per batch); nil discards them.
	Logger *slog.Logger
}

// Tracer records request spans and exports them over OTLP/HTTP in the
// background. A nil *Tracer is valid and does nothing: it is what New
// returns when tracing is off.
type Tracer struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	exp    *exporter
	bound  uint64 // ratioBound(SampleRatio)

	recorded atomic.Uint64
	closed   atomic.Bool
}

// Stats counts spans since New. Spans dropped by the SDK because its queue
// was full appear as Recorded − Exported − Failed once Shutdown has
// flushed; before that the difference also holds the spans still queued.
type Stats struct {
	Recorded uint64 // spans handed to the SDK (request spans and upstream children)
	Exported uint64 // spans the collector accepted
	Failed   uint64 // spans in exports that failed (dropped, not retried later)
}

// New validates cfg and starts the exporter. It returns (nil, nil) when
// cfg.Endpoint is empty. It does not contact the collector: an unreachable
// one shows up later as failed exports.
func New(cfg Config) (*Tracer, error) {
	if cfg.Endpoint == "" {
		return nil, nil
	}
	cfg, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	opts := []otlptracehttp.Option{
		otlptracehttp.WithEndpointURL(cfg.Endpoint),
		otlptracehttp.WithTimeout(cfg.Timeout),
	}
	if len(cfg.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(cfg.Headers))
	}
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: otlp exporter: %w", err)
	}
	t, err := newTracer(cfg, exp)
	if err != nil {
		return nil, err
	}
	cfg.Logger.Info("tracing on", "endpoint", cfg.Endpoint, "sample_ratio", cfg.SampleRatio,
		"service", cfg.ServiceName)
	return t, nil
}

// validate applies defaults and reports every problem at once.
func validate(cfg Config) (Config, error) {
	var errs []error
	u, err := url.Parse(cfg.Endpoint)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("%w: endpoint is not a URL", ErrConfig))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("%w: endpoint scheme must be http or https", ErrConfig))
	case u.Host == "":
		errs = append(errs, fmt.Errorf("%w: endpoint has no host", ErrConfig))
	case u.User != nil:
		errs = append(errs, fmt.Errorf("%w: endpoint must not carry credentials; use headers", ErrConfig))
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		errs = append(errs, fmt.Errorf("%w: endpoint must not have a query or fragment", ErrConfig))
	}
	if math.IsNaN(cfg.SampleRatio) || cfg.SampleRatio < 0 || cfg.SampleRatio > 1 {
		errs = append(errs, fmt.Errorf("%w: sample ratio %v is outside [0, 1]", ErrConfig, cfg.SampleRatio))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("%w: timeout %v is negative", ErrConfig, cfg.Timeout))
	}
	for k, v := range cfg.Headers {
		if !httpguts.ValidHeaderFieldName(k) {
			errs = append(errs, fmt.Errorf("%w: header name %q is not a valid HTTP header name", ErrConfig, k))
		} else if !httpguts.ValidHeaderFieldValue(v) {
			// The value may be a secret: name the header, never the value.
			errs = append(errs, fmt.Errorf("%w: header %q has an invalid value", ErrConfig, k))
		}
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("tracing: %w", errors.Join(errs...))
	}
	if cfg.ServiceName == "" {
		cfg.ServiceName = DefaultServiceName
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// newTracer builds the provider around any exporter (tests and benchmarks
// pass their own). cfg must have been through validate.
func newTracer(cfg Config, inner sdktrace.SpanExporter) (*Tracer, error) {
	res, err := resource.Merge(resource.Default(),
		resource.NewSchemaless(attribute.String("service.name", cfg.ServiceName)))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	exp := &exporter{inner: inner, log: cfg.Logger}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		// Sample already decided; only sampled requests reach Record.
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithIDGenerator(idGenerator{}),
		// Bounded queue (2048 spans), never blocks Record: a full queue
		// drops the span. Each export is bounded by Timeout.
		sdktrace.WithBatcher(exp, sdktrace.WithExportTimeout(cfg.Timeout)),
	)
	return &Tracer{
		tp:     tp,
		tracer: tp.Tracer(scopeName),
		exp:    exp,
		bound:  ratioBound(cfg.SampleRatio),
	}, nil
}

// Shutdown stops recording, flushes the queued spans (each export bounded
// by Config.Timeout) and stops the exporter. It returns ctx's error when
// ctx ends first, and an error wrapping ErrExport when spans failed to
// export during the flush. Later calls return nil. Safe on nil.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil || !t.closed.CompareAndSwap(false, true) {
		return nil
	}
	failedBefore := t.exp.failed.Load()
	err := t.tp.Shutdown(ctx)
	if n := t.exp.failed.Load() - failedBefore; n > 0 {
		err = errors.Join(err, fmt.Errorf("%w: %d spans not exported during the final flush", ErrExport, n))
	}
	if err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// Stats returns the span counters. Safe on nil (zero).
func (t *Tracer) Stats() Stats {
	if t == nil {
		return Stats{}
	}
	return Stats{
		Recorded: t.recorded.Load(),
		Exported: t.exp.exported.Load(),
		Failed:   t.exp.failed.Load(),
	}
}

// exporter wraps the OTLP exporter to count outcomes and log failures
// through the configured logger. It reports success to the SDK even when
// the export failed: the failure is counted and logged here, and returning
// it would make the SDK print it again through the process-wide OTel error
// handler (the standard log package by default).
type exporter struct {
	inner    sdktrace.SpanExporter
	log      *slog.Logger
	exported atomic.Uint64
	failed   atomic.Uint64
	failing  atomic.Bool
}

var _ sdktrace.SpanExporter = (*exporter)(nil)

func (e *exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	n := uint64(len(spans))
	if err := e.inner.ExportSpans(ctx, spans); err != nil {
		total := e.failed.Add(n)
		if e.failing.CompareAndSwap(false, true) {
			e.log.Warn("trace export failing; spans are dropped until it recovers",
				"spans", n, "failed_total", total, "err", err)
		}
		return nil
	}
	e.exported.Add(n)
	if e.failing.CompareAndSwap(true, false) {
		e.log.Info("trace export recovered", "failed_total", e.failed.Load())
	}
	return nil
}

func (e *exporter) Shutdown(ctx context.Context) error {
	if err := e.inner.Shutdown(ctx); err != nil {
		return fmt.Errorf("exporter: %w", err)
	}
	return nil
}
