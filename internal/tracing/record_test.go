package tracing

import (
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// TestKeysMatchSemconv pins the convention names to the semconv package.
func TestKeysMatchSemconv(t *testing.T) {
	pairs := []struct{ ours, conv attribute.Key }{
		{keyOperation, semconv.GenAIOperationNameKey},
		{keyRequestModel, semconv.GenAIRequestModelKey},
		{keyResponseModel, semconv.GenAIResponseModelKey},
		{keyProvider, semconv.GenAIProviderNameKey},
		{keyInputTokens, semconv.GenAIUsageInputTokensKey},
		{keyOutputTokens, semconv.GenAIUsageOutputTokensKey},
		{keyStatus, semconv.HTTPResponseStatusCodeKey},
		{keyRoute, semconv.HTTPRouteKey},
		{keyServerAddress, semconv.ServerAddressKey},
		{keyServerPort, semconv.ServerPortKey},
		{keyErrorType, semconv.ErrorTypeKey},
	}
	for _, p := range pairs {
		if p.ours != p.conv {
			t.Errorf("key %q; semconv says %q", p.ours, p.conv)
		}
	}
}

// memTracer is a Tracer exporting to memory, flushed by the returned func.
func memTracer(t testing.TB) (*Tracer, *tracetest.InMemoryExporter, func() tracetest.SpanStubs) {
	t.Helper()
	mem := tracetest.NewInMemoryExporter()
	cfg, err := validate(Config{Endpoint: "http://127.0.0.1:1", SampleRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := newTracer(cfg, mem)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr, mem, func() tracetest.SpanStubs {
		if err := tr.tp.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer mem.Reset()
		return mem.GetSpans()
	}
}

func attrsOf(kvs []attribute.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func TestRecord(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name       string
		span       Span // Decision filled in by the test
		wantName   string
		wantAttrs  map[string]any
		wantStatus codes.Code
		child      map[string]any // nil: no child span
		childErr   codes.Code
	}{
		{
			name:      "zero attrs omitted, default name",
			span:      Span{Start: t0, End: t0.Add(time.Second)},
			wantName:  "request",
			wantAttrs: map[string]any{},
		},
		{
			name:      "name from operation and model",
			span:      Span{Attrs: Attrs{Operation: "chat", RequestModel: "claude-3-5-haiku", Status: 200}},
			wantName:  "chat claude-3-5-haiku",
			wantAttrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-3-5-haiku", "http.response.status_code": int64(200)},
		},
		{
			name:      "name from operation only",
			span:      Span{Attrs: Attrs{Operation: "embeddings"}},
			wantName:  "embeddings",
			wantAttrs: map[string]any{"gen_ai.operation.name": "embeddings"},
		},
		{
			name:       "5xx without error type",
			span:       Span{Name: "chat m", Attrs: Attrs{Status: 502}},
			wantName:   "chat m",
			wantAttrs:  map[string]any{"http.response.status_code": int64(502), "error.type": "502"},
			wantStatus: codes.Error,
		},
		{
			name:      "4xx is not the server's error",
			span:      Span{Name: "chat m", Attrs: Attrs{Status: 429}},
			wantName:  "chat m",
			wantAttrs: map[string]any{"http.response.status_code": int64(429)},
		},
		{
			name:       "explicit error type",
			span:       Span{Name: "chat m", Error: "guardrail_violation", Attrs: Attrs{Status: 400}},
			wantName:   "chat m",
			wantAttrs:  map[string]any{"http.response.status_code": int64(400), "error.type": "guardrail_violation"},
			wantStatus: codes.Error,
		},
		{
			name: "child inherits and reports upstream 429",
			span: Span{Name: "chat m", Attrs: Attrs{Operation: "chat", RequestModel: "m", Provider: "anthropic", Status: 429},
				Upstream: &Child{Start: t0, End: t0.Add(time.Millisecond), Status: 429}},
			wantName:  "chat m",
			wantAttrs: map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.provider.name": "anthropic", "http.response.status_code": int64(429)},
			child:     map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.provider.name": "anthropic", "http.response.status_code": int64(429), "error.type": "429"},
			childErr:  codes.Error,
		},
		{
			name:      "child with its own error and name",
			span:      Span{Name: "chat m", Upstream: &Child{Name: "upstream", Start: t0, End: t0, Error: "upstream_unreachable", ServerAddress: "127.0.0.1", ServerPort: 9000}},
			wantName:  "chat m",
			wantAttrs: map[string]any{},
			child:     map[string]any{"server.address": "127.0.0.1", "server.port": int64(9000), "error.type": "upstream_unreachable"},
			childErr:  codes.Error,
		},
		{
			name:      "child without start is skipped",
			span:      Span{Name: "chat m", Upstream: &Child{ServerAddress: "x"}},
			wantName:  "chat m",
			wantAttrs: map[string]any{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _, flush := memTracer(t)
			d, ok := tr.Sample(nil)
			if !ok {
				t.Fatal("ratio 1 did not sample")
			}
			s := tt.span
			s.Decision = d
			tr.Record(&s)
			got := flush()
			want := 1
			if tt.child != nil {
				want = 2
			}
			if len(got) != want {
				t.Fatalf("%d spans; want %d", len(got), want)
			}
			var srv, cli *tracetest.SpanStub
			for i := range got {
				switch got[i].SpanKind {
				case trace.SpanKindServer:
					srv = &got[i]
				case trace.SpanKindClient:
					cli = &got[i]
				}
			}
			if srv == nil {
				t.Fatal("no server span")
			}
			if srv.Name != tt.wantName || srv.SpanContext.TraceID() != d.TraceID || srv.SpanContext.SpanID() != d.SpanID {
				t.Errorf("server span %q %s/%s; want %q %x/%x", srv.Name, srv.SpanContext.TraceID(), srv.SpanContext.SpanID(), tt.wantName, d.TraceID, d.SpanID)
			}
			if srv.Parent.IsValid() {
				t.Errorf("root span has parent %v", srv.Parent)
			}
			if a := attrsOf(srv.Attributes); !reflect.DeepEqual(a, tt.wantAttrs) {
				t.Errorf("attrs\n got %v\nwant %v", a, tt.wantAttrs)
			}
			if srv.Status.Code != tt.wantStatus {
				t.Errorf("status %v; want %v", srv.Status.Code, tt.wantStatus)
			}
			if !srv.StartTime.Equal(tt.span.Start) && !tt.span.Start.IsZero() {
				t.Errorf("start %v; want %v", srv.StartTime, tt.span.Start)
			}
			if tt.child == nil {
				return
			}
			if cli == nil {
				t.Fatal("no client span")
			}
			if cli.SpanContext.SpanID() != d.UpstreamSpanID || cli.Parent.SpanID() != d.SpanID || cli.SpanContext.TraceID() != d.TraceID {
				t.Errorf("child ids %s parent %s; want %x parent %x", cli.SpanContext.SpanID(), cli.Parent.SpanID(), d.UpstreamSpanID, d.SpanID)
			}
			wantChildName := tt.span.Upstream.Name
			if wantChildName == "" {
				wantChildName = tt.wantName
			}
			if cli.Name != wantChildName {
				t.Errorf("child name %q; want %q", cli.Name, wantChildName)
			}
			if a := attrsOf(cli.Attributes); !reflect.DeepEqual(a, tt.child) {
				t.Errorf("child attrs\n got %v\nwant %v", a, tt.child)
			}
			if cli.Status.Code != tt.childErr {
				t.Errorf("child status %v; want %v", cli.Status.Code, tt.childErr)
			}
			if !cli.StartTime.Equal(tt.span.Upstream.Start) || !cli.EndTime.Equal(tt.span.Upstream.End) {
				t.Errorf("child time %v..%v; want %v..%v", cli.StartTime, cli.EndTime, tt.span.Upstream.Start, tt.span.Upstream.End)
			}
		})
	}
}

func TestRecordIgnores(t *testing.T) {
	tr, _, flush := memTracer(t)
	tr.Record(nil)
	tr.Record(&Span{Name: "unsampled"})                                            // zero Decision
	tr.Record(&Span{Name: "copied ids", Decision: Decision{TraceID: [16]byte{1}}}) // not from Sample
	if got := flush(); len(got) != 0 {
		t.Errorf("exported %d spans; want none", len(got))
	}
	if st := tr.Stats(); st.Recorded != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestIDGeneratorFallback: spans started without ids in the context (not
// through Record) still get valid random ids.
func TestIDGeneratorFallback(t *testing.T) {
	g := idGenerator{}
	tid, sid := g.NewIDs(context.Background())
	if !tid.IsValid() || !sid.IsValid() {
		t.Errorf("NewIDs = %s %s", tid, sid)
	}
	if s := g.NewSpanID(context.Background(), tid); !s.IsValid() {
		t.Errorf("NewSpanID = %s", s)
	}
}

// BenchmarkRecord measures what a sampled request costs its handler:
// building a request span with typical attributes and an upstream child,
// and enqueueing both (the export runs on the SDK's goroutine, here to a
// discarding exporter).
func BenchmarkRecord(b *testing.B) {
	cfg, err := validate(Config{Endpoint: "http://127.0.0.1:1", SampleRatio: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	tr, err := newTracer(cfg, tracetest.NewNoopExporter())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tr.Shutdown(context.Background()) }()
	d, _ := tr.Sample([]byte(tpSampled))
	now := time.Now()
	span := Span{
		Decision: d, Name: "chat gpt-4o-mini", Start: now, End: now.Add(100 * time.Millisecond),
		Attrs: Attrs{Operation: "chat", RequestModel: "gpt-4o-mini", ResponseModel: "gpt-4o-mini-2024-07-18",
			Provider: "openai", InputTokens: 20, OutputTokens: 16, Stream: true, Status: 200,
			RequestID: "01J9ZQ4W5B6N7M8K9P0R1S2T3V", KeyID: "key_1", Route: "/v1/chat/completions", TTFT: 3 * time.Millisecond},
		Upstream: &Child{Start: now, End: now.Add(99 * time.Millisecond), ServerAddress: "127.0.0.1", ServerPort: 9000, Status: 200},
	}
	b.ReportAllocs()
	for b.Loop() {
		tr.Record(&span)
	}
}
