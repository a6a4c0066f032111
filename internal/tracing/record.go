package tracing

import (
	"context"
	"encoding/binary"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys. The gen_ai.*, http.*, server.* and error.type names are
// the OpenTelemetry semantic conventions' (GenAI conventions as of semconv
// v1.40.0; keys_test.go checks them against the semconv package). sluice.*
// are Sluice's own.
const (
	keyOperation     = attribute.Key("gen_ai.operation.name")
	keyRequestModel  = attribute.Key("gen_ai.request.model")
	keyResponseModel = attribute.Key("gen_ai.response.model")
	keyProvider      = attribute.Key("gen_ai.provider.name")
	keyInputTokens   = attribute.Key("gen_ai.usage.input_tokens")
	keyOutputTokens  = attribute.Key("gen_ai.usage.output_tokens")
	keyStatus        = attribute.Key("http.response.status_code")
	keyRoute         = attribute.Key("http.route")
	keyServerAddress = attribute.Key("server.address")
	keyServerPort    = attribute.Key("server.port")
	keyErrorType     = attribute.Key("error.type")

	keyStream    = attribute.Key("sluice.stream")
	keyRequestID = attribute.Key("sluice.request_id")
	keyKeyID     = attribute.Key("sluice.key_id")
	// keyTTFT is milliseconds (float) from the request's start to the first
	// byte of the reply sent to the client. The GenAI conventions define
	// time to first token only as a metric
	// (gen_ai.server.time_to_first_token, seconds), not as a span
	// attribute, so the span carries Sluice's own name.
	keyTTFT = attribute.Key("sluice.ttft_ms")
)

// Span is one finished request, recorded after the fact from plain fields.
type Span struct {
	// Decision is what Sample returned for the request; Record ignores a
	// Span whose Decision is not sampled.
	Decision Decision
	// Name is the span name; the GenAI convention is "{operation} {model}",
	// e.g. "chat gpt-4o-mini". Empty: built from Attrs that way ("request"
	// when both are empty).
	Name string
	// Start and End bound the request as the gateway saw it; a zero one
	// means the time of the Record call.
	Start, End time.Time
	// Attrs are the request's attributes; zero fields are left out.
	Attrs Attrs
	// Error is the error.type of a failed request (e.g. "upstream_timeout");
	// it also sets the span status to Error. Empty with Attrs.Status ≥ 500
	// means error.type is the status code, as the HTTP conventions say.
	// Leave it empty for client errors that are not the gateway's failure.
	Error string
	// Upstream, when not nil and its Start is set, becomes a client child
	// span for the exchange with the provider.
	Upstream *Child
}

// Attrs are a request's attributes. Zero values are omitted.
type Attrs struct {
	Operation     string // gen_ai.operation.name: "chat", "text_completion", "embeddings", ...
	RequestModel  string // gen_ai.request.model: the model the client asked for
	ResponseModel string // gen_ai.response.model: the model that answered
	Provider      string // gen_ai.provider.name: "openai", "anthropic", "gcp.gemini", ...
	InputTokens   int64  // gen_ai.usage.input_tokens
	OutputTokens  int64  // gen_ai.usage.output_tokens
	Stream        bool   // sluice.stream
	Status        int    // http.response.status_code sent to the client
	RequestID     string // sluice.request_id (the x-request-id)
	KeyID         string // sluice.key_id: the virtual key's id, never its secret
	Route         string // http.route, e.g. "/v1/chat/completions"
	// TTFT is the time to the first byte of the reply (sluice.ttft_ms, a
	// float in milliseconds).
	TTFT time.Duration
}

// Child is the upstream exchange of a request, recorded as a client span
// under the request's span, with Decision.UpstreamSpanID as its id. Its
// gen_ai.operation.name and gen_ai.provider.name come from the request's
// Attrs.
type Child struct {
	// Name is the span name; empty means the request span's name.
	Name string
	// Start and End bound the exchange (retries included).
	Start, End time.Time
	// ServerAddress and ServerPort are the upstream's host and port
	// (server.address, server.port); zero values are omitted.
	ServerAddress string
	ServerPort    int
	// Model is the model name sent upstream (gen_ai.request.model); empty
	// means the request's Attrs.RequestModel.
	Model string
	// Status is the upstream's HTTP status (http.response.status_code).
	Status int
	// Error is the exchange's error.type; empty with Status ≥ 400 means
	// the status code (the HTTP client convention).
	Error string
}

// Record hands a finished request to the SDK, which exports it in the
// background: the caller pays for building the span(s) and a non-blocking
// enqueue (a full queue drops them), never for I/O. It does nothing for a
// nil *Tracer, a nil Span, an unsampled Decision, or after Shutdown. Safe
// for concurrent use; s is not retained.
func (t *Tracer) Record(s *Span) {
	if t == nil || s == nil || !s.Decision.sampled || t.closed.Load() {
		return
	}
	d := &s.Decision
	ctx := context.Background()
	if d.HasParent() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID:    d.TraceID,
			SpanID:     d.ParentSpanID,
			TraceFlags: trace.FlagsSampled,
			Remote:     true,
		}))
	}
	a := &s.Attrs
	name := s.Name
	if name == "" {
		name = defaultName(a.Operation, a.RequestModel)
	}
	kv := make([]attribute.KeyValue, 0, 16)
	kv = appendString(kv, keyOperation, a.Operation)
	kv = appendString(kv, keyRequestModel, a.RequestModel)
	kv = appendString(kv, keyResponseModel, a.ResponseModel)
	kv = appendString(kv, keyProvider, a.Provider)
	if a.InputTokens != 0 {
		kv = append(kv, keyInputTokens.Int64(a.InputTokens))
	}
	if a.OutputTokens != 0 {
		kv = append(kv, keyOutputTokens.Int64(a.OutputTokens))
	}
	if a.Stream {
		kv = append(kv, keyStream.Bool(true))
	}
	if a.Status != 0 {
		kv = append(kv, keyStatus.Int(a.Status))
	}
	kv = appendString(kv, keyRequestID, a.RequestID)
	kv = appendString(kv, keyKeyID, a.KeyID)
	kv = appendString(kv, keyRoute, a.Route)
	if a.TTFT > 0 {
		kv = append(kv, keyTTFT.Float64(float64(a.TTFT)/float64(time.Millisecond)))
	}
	errType := errorType(s.Error, a.Status, 500)
	kv = appendString(kv, keyErrorType, errType)

	// Attributes go through SetAttributes rather than WithAttributes: the
	// option would copy them once more (BenchmarkRecord).
	ctx, span := t.tracer.Start(withSpanID(ctx, d.TraceID, d.SpanID), name,
		trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(s.Start))
	span.SetAttributes(kv...)
	if errType != "" {
		span.SetStatus(codes.Error, errType)
	}
	n := uint64(1)
	if u := s.Upstream; u != nil && !u.Start.IsZero() {
		t.recordChild(ctx, d, u, a, name)
		n++
	}
	span.End(trace.WithTimestamp(s.End))
	t.recorded.Add(n)
}

func (t *Tracer) recordChild(ctx context.Context, d *Decision, u *Child, a *Attrs, parentName string) {
	name := u.Name
	if name == "" {
		name = parentName
	}
	model := u.Model
	if model == "" {
		model = a.RequestModel
	}
	kv := make([]attribute.KeyValue, 0, 8)
	kv = appendString(kv, keyOperation, a.Operation)
	kv = appendString(kv, keyProvider, a.Provider)
	kv = appendString(kv, keyRequestModel, model)
	kv = appendString(kv, keyResponseModel, a.ResponseModel)
	kv = appendString(kv, keyServerAddress, u.ServerAddress)
	if u.ServerPort != 0 {
		kv = append(kv, keyServerPort.Int(u.ServerPort))
	}
	if u.Status != 0 {
		kv = append(kv, keyStatus.Int(u.Status))
	}
	errType := errorType(u.Error, u.Status, 400)
	kv = appendString(kv, keyErrorType, errType)
	_, span := t.tracer.Start(withSpanID(ctx, d.TraceID, d.UpstreamSpanID), name,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(u.Start))
	span.SetAttributes(kv...)
	if errType != "" {
		span.SetStatus(codes.Error, errType)
	}
	span.End(trace.WithTimestamp(u.End))
}

func appendString(kv []attribute.KeyValue, k attribute.Key, v string) []attribute.KeyValue {
	if v == "" {
		return kv
	}
	return append(kv, k.String(v))
}

func defaultName(op, model string) string {
	switch {
	case op != "" && model != "":
		return op + " " + model
	case op != "":
		return op
	case model != "":
		return model
	}
	return "request"
}

// errorType is the error.type value: the caller's, or else the status code
// when it is at least floor (the HTTP conventions: 500 for a server span, 400
// for a client span).
func errorType(errType string, status, floor int) string {
	if errType == "" && status >= floor {
		return strconv.Itoa(status)
	}
	return errType
}

// idGenerator hands the SDK the ids Sample chose (carried in the context
// by withSpanID), so that the exported spans carry the ids the gateway may
// already have propagated. Without them it falls back to random ids.
type idGenerator struct{}

var _ sdktrace.IDGenerator = idGenerator{}

type idsKey struct{}

type ids struct {
	trace [16]byte
	span  [8]byte
}

func withSpanID(ctx context.Context, tid [16]byte, sid [8]byte) context.Context {
	return context.WithValue(ctx, idsKey{}, ids{trace: tid, span: sid})
}

func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	v, _ := ctx.Value(idsKey{}).(ids)
	tid, sid := trace.TraceID(v.trace), trace.SpanID(v.span)
	if !tid.IsValid() {
		binary.BigEndian.PutUint64(tid[:8], nonZeroUint64())
		binary.BigEndian.PutUint64(tid[8:], nonZeroUint64())
	}
	if !sid.IsValid() {
		binary.BigEndian.PutUint64(sid[:], nonZeroUint64())
	}
	return tid, sid
}

func (idGenerator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	v, _ := ctx.Value(idsKey{}).(ids)
	sid := trace.SpanID(v.span)
	if !sid.IsValid() {
		binary.BigEndian.PutUint64(sid[:], nonZeroUint64())
	}
	return sid
}
