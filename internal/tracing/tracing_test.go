package tracing

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; nil: valid
	}{
		{"minimal", Config{Endpoint: "http://127.0.0.1:4318/v1/traces"}, nil},
		{"https, ratio 1", Config{Endpoint: "https://otel.example:4318/v1/traces", SampleRatio: 1}, nil},
		{"no path", Config{Endpoint: "http://127.0.0.1:4318"}, nil},
		{"headers", Config{Endpoint: "http://h/v1/traces", Headers: map[string]string{"Authorization": "Bearer x"}}, nil},
		{"bad scheme", Config{Endpoint: "grpc://h:4317"}, []string{"scheme"}},
		{"no scheme", Config{Endpoint: "127.0.0.1:4318"}, []string{"endpoint"}},
		{"no host", Config{Endpoint: "http:///v1/traces"}, []string{"no host"}},
		{"not a url", Config{Endpoint: "http://[::1"}, []string{"not a URL"}},
		{"credentials", Config{Endpoint: "http://u:hunter2@h/v1/traces"}, []string{"credentials"}},
		{"query", Config{Endpoint: "http://h/v1/traces?token=hunter2"}, []string{"query"}},
		{"ratio negative", Config{Endpoint: "http://h", SampleRatio: -0.1}, []string{"sample ratio"}},
		{"ratio above 1", Config{Endpoint: "http://h", SampleRatio: 1.5}, []string{"sample ratio"}},
		{"ratio NaN", Config{Endpoint: "http://h", SampleRatio: math.NaN()}, []string{"sample ratio"}},
		{"timeout negative", Config{Endpoint: "http://h", Timeout: -time.Second}, []string{"timeout"}},
		{"bad header name", Config{Endpoint: "http://h", Headers: map[string]string{"a b": "v"}}, []string{"header name"}},
		{"bad header value", Config{Endpoint: "http://h", Headers: map[string]string{"X-Key": "hunter2\r\nX: y"}}, []string{`header "X-Key"`}},
		{"all at once", Config{Endpoint: "ftp://h", SampleRatio: 2, Timeout: -1}, []string{"scheme", "sample ratio", "timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := New(tt.cfg)
			if tt.want == nil {
				if err != nil || tr == nil {
					t.Fatalf("New = %v, %v; want a tracer", tr, err)
				}
				if err := tr.Shutdown(context.Background()); err != nil {
					t.Errorf("Shutdown with nothing recorded: %v", err)
				}
				return
			}
			if err == nil || tr != nil {
				t.Fatalf("New = %v, %v; want an error", tr, err)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q echoes a secret", err)
			}
		})
	}
}

func TestOff(t *testing.T) {
	tr, err := New(Config{SampleRatio: 1, Headers: map[string]string{"a": "b"}})
	if err != nil || tr != nil {
		t.Fatalf("New with no endpoint = %v, %v; want nil, nil", tr, err)
	}
	for _, tp := range [][]byte{nil, []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")} {
		if d, ok := tr.Sample(tp); ok || d.Sampled() || d != (Decision{}) {
			t.Errorf("nil Sample(%q) = %+v, %v; want zero, false", tp, d, ok)
		}
	}
	tr.Record(&Span{Decision: Decision{sampled: true}, Name: "x"})
	tr.Record(nil)
	if s := tr.Stats(); s != (Stats{}) {
		t.Errorf("nil Stats = %+v", s)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Errorf("nil Shutdown = %v", err)
	}
}

func TestExportToCollector(t *testing.T) {
	col := newCollector(t)
	log, logs := newLogger()
	tr, err := New(Config{
		Endpoint:    col.url(),
		SampleRatio: 0, // only the sampled parent below is traced
		ServiceName: "sluice-test",
		Headers:     map[string]string{"Authorization": "Bearer otlp-secret", "X-Tenant": "t1"},
		Logger:      log,
	})
	if err != nil {
		t.Fatal(err)
	}
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if _, ok := tr.Sample(nil); ok {
		t.Fatal("ratio 0 sampled a request without traceparent")
	}
	d, ok := tr.Sample([]byte(traceparent))
	if !ok {
		t.Fatal("sampled traceparent not traced")
	}
	start := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)
	span := &Span{
		Decision: d,
		Name:     "chat gpt-4o-mini",
		Start:    start,
		End:      start.Add(250 * time.Millisecond),
		Attrs: Attrs{
			Operation:     "chat",
			RequestModel:  "gpt-4o-mini",
			ResponseModel: "gpt-4o-mini-2024-07-18",
			Provider:      "openai",
			InputTokens:   12,
			OutputTokens:  34,
			Stream:        true,
			Status:        200,
			RequestID:     "req-1",
			KeyID:         "key_42",
			Route:         "/v1/chat/completions",
			TTFT:          1500 * time.Microsecond,
		},
		Upstream: &Child{
			Start:         start.Add(10 * time.Millisecond),
			End:           start.Add(240 * time.Millisecond),
			ServerAddress: "api.openai.com",
			ServerPort:    443,
			Model:         "gpt-4o-mini-2024-07-18",
			Status:        200,
		},
	}
	tr.Record(span)
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	if len(col.errs) > 0 {
		t.Fatalf("collector errors: %v", col.errs)
	}
	got := col.spans()
	if len(got) != 2 {
		t.Fatalf("collector got %d spans, want 2", len(got))
	}
	for i, h := range col.headers {
		if h.Get("Authorization") != "Bearer otlp-secret" || h.Get("X-Tenant") != "t1" {
			t.Errorf("export %d headers = %v; want the configured ones", i, h)
		}
		if col.paths[i] != "/v1/traces" {
			t.Errorf("export %d path = %q", i, col.paths[i])
		}
	}
	byKind := map[tracepb.Span_SpanKind]received{}
	for _, r := range got {
		byKind[r.span.GetKind()] = r
		if r.resource["service.name"] != "sluice-test" {
			t.Errorf("resource service.name = %v", r.resource["service.name"])
		}
		if r.scope != scopeName {
			t.Errorf("scope = %q", r.scope)
		}
	}
	srv, ok1 := byKind[tracepb.Span_SPAN_KIND_SERVER]
	cli, ok2 := byKind[tracepb.Span_SPAN_KIND_CLIENT]
	if !ok1 || !ok2 {
		t.Fatalf("kinds = %v; want one server and one client span", byKind)
	}
	wantTrace, _ := hex.DecodeString("4bf92f3577b34da6a3ce929d0e0e4736")
	wantParent, _ := hex.DecodeString("00f067aa0ba902b7")

	s := srv.span
	checkSpan(t, "server", s, "chat gpt-4o-mini", wantTrace, d.SpanID[:], wantParent,
		start, start.Add(250*time.Millisecond))
	wantAttrs := map[string]any{
		"gen_ai.operation.name":      "chat",
		"gen_ai.request.model":       "gpt-4o-mini",
		"gen_ai.response.model":      "gpt-4o-mini-2024-07-18",
		"gen_ai.provider.name":       "openai",
		"gen_ai.usage.input_tokens":  int64(12),
		"gen_ai.usage.output_tokens": int64(34),
		"sluice.stream":              true,
		"http.response.status_code":  int64(200),
		"sluice.request_id":          "req-1",
		"sluice.key_id":              "key_42",
		"http.route":                 "/v1/chat/completions",
		"sluice.ttft_ms":             1.5,
	}
	if a := attrMap(s.GetAttributes()); !reflect.DeepEqual(a, wantAttrs) {
		t.Errorf("server attributes\n got %v\nwant %v", a, wantAttrs)
	}
	if s.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_UNSET {
		t.Errorf("server status = %v; want unset", s.GetStatus())
	}

	c := cli.span
	checkSpan(t, "client", c, "chat gpt-4o-mini", wantTrace, d.UpstreamSpanID[:], d.SpanID[:],
		start.Add(10*time.Millisecond), start.Add(240*time.Millisecond))
	wantChild := map[string]any{
		"gen_ai.operation.name":     "chat",
		"gen_ai.provider.name":      "openai",
		"gen_ai.request.model":      "gpt-4o-mini-2024-07-18",
		"gen_ai.response.model":     "gpt-4o-mini-2024-07-18",
		"server.address":            "api.openai.com",
		"server.port":               int64(443),
		"http.response.status_code": int64(200),
	}
	if a := attrMap(c.GetAttributes()); !reflect.DeepEqual(a, wantChild) {
		t.Errorf("client attributes\n got %v\nwant %v", a, wantChild)
	}

	st := tr.Stats()
	if st != (Stats{Recorded: 2, Exported: 2}) {
		t.Errorf("Stats = %+v; want 2 recorded, 2 exported", st)
	}
	if strings.Contains(logs.String(), "otlp-secret") {
		t.Errorf("log shows the export header: %s", logs)
	}
}

func checkSpan(t *testing.T, what string, s *tracepb.Span, name string, traceID, spanID, parentID []byte, start, end time.Time) {
	t.Helper()
	if s.GetName() != name {
		t.Errorf("%s name = %q; want %q", what, s.GetName(), name)
	}
	if !bytes.Equal(s.GetTraceId(), traceID) {
		t.Errorf("%s trace id = %x; want %x", what, s.GetTraceId(), traceID)
	}
	if !bytes.Equal(s.GetSpanId(), spanID) {
		t.Errorf("%s span id = %x; want %x", what, s.GetSpanId(), spanID)
	}
	if !bytes.Equal(s.GetParentSpanId(), parentID) {
		t.Errorf("%s parent span id = %x; want %x", what, s.GetParentSpanId(), parentID)
	}
	if s.GetStartTimeUnixNano() != uint64(start.UnixNano()) || s.GetEndTimeUnixNano() != uint64(end.UnixNano()) {
		t.Errorf("%s time = %d..%d; want %d..%d", what, s.GetStartTimeUnixNano(), s.GetEndTimeUnixNano(),
			start.UnixNano(), end.UnixNano())
	}
}

func TestExportRootSpan(t *testing.T) {
	col := newCollector(t)
	tr, err := New(Config{Endpoint: col.url(), SampleRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	d, ok := tr.Sample([]byte("not a traceparent"))
	if !ok || d.HasParent() {
		t.Fatalf("Sample = %+v, %v; want a sampled root", d, ok)
	}
	start := time.Unix(1_700_000_000, 0)
	tr.Record(&Span{Decision: d, Start: start, End: start.Add(time.Second), Error: "upstream_timeout",
		Attrs: Attrs{Operation: "embeddings", RequestModel: "text-embedding-3-small", Status: 504}})
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := col.spans()
	if len(got) != 1 {
		t.Fatalf("got %d spans, want 1", len(got))
	}
	s := got[0].span
	checkSpan(t, "root", s, "embeddings text-embedding-3-small", d.TraceID[:], d.SpanID[:], nil, start, start.Add(time.Second))
	if got[0].resource["service.name"] != DefaultServiceName {
		t.Errorf("service.name = %v; want the default", got[0].resource["service.name"])
	}
	if a := attrMap(s.GetAttributes()); a["error.type"] != "upstream_timeout" {
		t.Errorf("error.type = %v", a["error.type"])
	}
	if s.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("status = %v; want error", s.GetStatus())
	}
}

// closedPort returns the address of a loopback port nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestCollectorUnavailable: with the collector down (refused) or hung
// (never answers), Record returns at once and Shutdown returns within the
// export timeout with ErrExport, not with its own (generous) deadline; the
// spans are counted as failed and the failure is logged once, without the
// export headers.
func TestCollectorUnavailable(t *testing.T) {
	hang := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(hang) }) // runs before hung.Close

	tests := []struct {
		name     string
		endpoint string
	}{
		{"refused", "http://" + closedPort(t) + "/v1/traces"},
		{"hung", hung.URL + "/v1/traces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := newLogger()
			tr, err := New(Config{
				Endpoint:    tt.endpoint,
				SampleRatio: 1,
				Timeout:     300 * time.Millisecond,
				Headers:     map[string]string{"Authorization": "Bearer otlp-secret"},
				Logger:      log,
			})
			if err != nil {
				t.Fatal(err)
			}
			for range 100 {
				d, _ := tr.Sample(nil)
				tr.Record(&Span{Decision: d, Name: "chat m", Start: time.Now(), End: time.Now(),
					Upstream: &Child{Start: time.Now(), End: time.Now()}})
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err = tr.Shutdown(ctx)
			if !errors.Is(err, ErrExport) || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Shutdown = %v; want ErrExport from the bounded final flush", err)
			}
			st := tr.Stats()
			if st.Recorded != 200 || st.Exported != 0 || st.Failed != 200 {
				t.Errorf("Stats = %+v; want 200 recorded, 200 failed", st)
			}
			out := logs.String()
			if n := strings.Count(out, "trace export failing"); n != 1 {
				t.Errorf("failure logged %d times; want once:\n%s", n, out)
			}
			if strings.Contains(out, "otlp-secret") {
				t.Errorf("log shows the export header:\n%s", out)
			}
			// After Shutdown, Record is a no-op and Shutdown is idempotent.
			d, _ := tr.Sample(nil)
			tr.Record(&Span{Decision: d})
			if got := tr.Stats().Recorded; got != 200 {
				t.Errorf("Record after Shutdown counted: %d", got)
			}
			if err := tr.Shutdown(context.Background()); err != nil {
				t.Errorf("second Shutdown = %v", err)
			}
		})
	}
}

// TestExportRecovers: a failing collector is logged once at Warn, its
// recovery once at Info, and Stats separates the two outcomes.
func TestExportRecovers(t *testing.T) {
	col := newCollector(t)
	log, logs := newLogger()
	tr, err := New(Config{Endpoint: col.url(), SampleRatio: 1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	record := func() {
		d, _ := tr.Sample(nil)
		tr.Record(&Span{Decision: d, Name: "x", Start: time.Now(), End: time.Now()})
		if err := tr.tp.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	col.setStatus(http.StatusBadRequest) // not retried by the exporter
	record()
	record()
	col.setStatus(http.StatusOK)
	record()
	if st := tr.Stats(); st != (Stats{Recorded: 3, Exported: 1, Failed: 2}) {
		t.Errorf("Stats = %+v", st)
	}
	out := logs.String()
	if strings.Count(out, "level=WARN msg=\"trace export failing") != 1 ||
		strings.Count(out, "level=INFO msg=\"trace export recovered\"") != 1 {
		t.Errorf("want one failure and one recovery line:\n%s", out)
	}
}
