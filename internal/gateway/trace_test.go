package gateway_test

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver collects the spans exported to it.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(nil)
}

func spanAttr(s *tracepb.Span, key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			v := a.Value
			switch {
			case v.GetStringValue() != "":
				return v.GetStringValue()
			case v.GetIntValue() != 0:
				return strconv.FormatInt(v.GetIntValue(), 10)
			}
		}
	}
	return ""
}

func TestTracing(t *testing.T) {
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	t.Cleanup(collector.Close)
	cfg := baseConfig + "tracing:\n  endpoint: " + collector.URL + "/v1/traces\n  sample_ratio: 0\n"
	s := newStackYAML(t, nil, cfg)

	// Ratio 0: only a request whose parent is sampled is traced, as its
	// child; the upstream gets Sluice's own traceparent.
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	resp, body := s.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"traceparent": parent})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	up := s.lastUpstream(t, "/v1/chat/completions")
	tp := up.Headers["traceparent"]
	if !strings.HasPrefix(tp, "00-0af7651916cd43dd8448eb211c80319c-") || tp == parent {
		t.Errorf("upstream traceparent %q: want the same trace, Sluice's span", tp)
	}
	s.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`, nil) // not sampled
	if err := s.tracer.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.spans) != 2 {
		t.Fatalf("%d spans, want 2 (request and upstream)", len(recv.spans))
	}
	var req, upSpan *tracepb.Span
	for _, sp := range recv.spans {
		if sp.Kind == tracepb.Span_SPAN_KIND_SERVER {
			req = sp
		} else {
			upSpan = sp
		}
	}
	if req == nil || upSpan == nil {
		t.Fatalf("spans: %v", recv.spans)
	}
	if hex.EncodeToString(req.TraceId) != "0af7651916cd43dd8448eb211c80319c" || hex.EncodeToString(req.ParentSpanId) != "b7ad6b7169203331" {
		t.Errorf("request span not a child of the client's: trace %x parent %x", req.TraceId, req.ParentSpanId)
	}
	if hex.EncodeToString(upSpan.SpanId) != tp[36:52] || string(upSpan.ParentSpanId) != string(req.SpanId) {
		t.Errorf("upstream span %x (parent %x) does not match the propagated traceparent %s", upSpan.SpanId, upSpan.ParentSpanId, tp)
	}
	for k, want := range map[string]string{
		"gen_ai.request.model":      "gpt-4o-mini",
		"gen_ai.response.model":     "gpt-4o-mini-2024-07-18",
		"gen_ai.provider.name":      "openai",
		"gen_ai.operation.name":     "chat",
		"http.response.status_code": "200",
		"sluice.request_id":         resp.Header.Get("x-request-id"),
	} {
		if got := spanAttr(req, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if spanAttr(req, "gen_ai.usage.output_tokens") == "" || req.EndTimeUnixNano <= req.StartTimeUnixNano {
		t.Errorf("request span: %v", req)
	}
}
