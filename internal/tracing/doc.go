// Package tracing exports optional OpenTelemetry traces of gateway requests
// over OTLP/HTTP (protobuf), off by default and sampled (issue #9). Its
// boundary is plain Go types: the gateway never imports OpenTelemetry.
//
// # What is exported
//
//   - Config and New: New validates the config (endpoint URL, ratio in
//     [0, 1], timeout, header names and values; all problems at once,
//     each wrapping ErrConfig) and returns a nil *Tracer when Endpoint is
//     empty. Every method is a no-op on a nil *Tracer, so the gateway calls
//     them unconditionally.
//   - Tracer.Sample(traceparent) decides whether a request is traced and
//     returns the Decision (trace id, the ids its spans will get, the
//     remote parent's span id). Decision.AppendTraceparent gives the value
//     to send upstream so the provider's spans join the trace.
//   - Tracer.Record(*Span) records a finished request after the fact: a
//     SERVER span "{operation} {model}" with the GenAI and HTTP attributes
//     of Attrs, and optionally a CLIENT child span for the upstream
//     exchange (Child).
//   - Tracer.Shutdown flushes and stops; Tracer.Stats counts spans
//     recorded, exported and failed.
//
// # Sampling rule (parent-based, then ratio)
//
// A valid W3C traceparent with the sampled flag is always traced, as a
// child of the remote parent; one with the flag clear is never traced; no
// traceparent or an invalid one (treated as absent) is traced with
// probability SampleRatio, decided from the new trace id like
// OpenTelemetry's TraceIDRatioBased sampler. tracestate is not read or
// propagated.
//
// # Request path
//
// Only Sample runs for every request: it parses the header without
// allocating and, when not traced, costs one random number (see
// BenchmarkSample*). Record runs only for sampled requests; it builds the
// span(s) and enqueues them on the SDK's BatchSpanProcessor (bounded queue
// of 2048 spans, batches of 512, every 5 s), which exports from its own
// goroutine. Nothing on the request path waits for the network.
//
// # How it fails
//
// A collector that is down, slow or refusing never blocks a request: each
// export (retries included) is bounded by Config.Timeout, a failed batch is
// dropped and counted in Stats.Failed, and the first failure after a
// success is logged at Warn (the recovery at Info) through Config.Logger,
// one line per change of state rather than per batch. When the queue is
// full the SDK drops new spans (Record does not wait); those show up as
// Recorded − Exported − Failed once Shutdown has flushed. Shutdown's flush
// is bounded by its context and by Timeout per batch. Export headers (often
// credentials) are never logged; the endpoint may not carry credentials,
// so it is safe to log. The standard OTEL_* environment variables the SDK
// reads (e.g. OTEL_RESOURCE_ATTRIBUTES) still apply where Config does not
// set the value.
package tracing
