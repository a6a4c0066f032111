package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestObserve(t *testing.T) {
	r := New()
	tgt := r.ForTarget("gpt-4o-mini", "openai")
	tgt.Observe(&Observation{Status: 200, Duration: 30 * time.Millisecond, TTFT: 5 * time.Millisecond,
		Overhead: 20 * time.Microsecond, InputTokens: 9, OutputTokens: 16, HasUsage: true})
	tgt.Observe(&Observation{Status: 499, Duration: time.Second})
	tgt.Observe(&Observation{Status: 502, Duration: time.Millisecond})
	r.UpstreamError("openai", "timeout")
	r.GatewayError("/v1/chat/completions", "model_not_found")
	r.AdminAuthFailure()

	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	out := string(b)
	for _, want := range []string{
		`sluice_requests_total{key_id="",model="gpt-4o-mini",provider="openai",status_class="2xx"} 1`,
		`sluice_requests_total{key_id="",model="gpt-4o-mini",provider="openai",status_class="4xx"} 1`,
		`sluice_requests_total{key_id="",model="gpt-4o-mini",provider="openai",status_class="5xx"} 1`,
		`sluice_tokens_total{model="gpt-4o-mini",provider="openai",token_type="input"} 9`,
		`sluice_tokens_total{model="gpt-4o-mini",provider="openai",token_type="output"} 16`,
		`gen_ai_client_token_usage_count{model="gpt-4o-mini",provider="openai",token_type="output"} 1`,
		`gen_ai_server_time_to_first_token_seconds_count{model="gpt-4o-mini",provider="openai"} 1`,
		`gen_ai_server_request_duration_seconds_count{model="gpt-4o-mini",provider="openai",status_class="2xx"} 1`,
		`sluice_client_cancelled_total{model="gpt-4o-mini",provider="openai"} 1`,
		`sluice_upstream_errors_total{kind="timeout",provider="openai"} 1`,
		`sluice_errors_total{kind="model_not_found",route="/v1/chat/completions"} 1`,
		`sluice_overhead_seconds_count{model="gpt-4o-mini",provider="openai"} 1`,
		`sluice_admin_auth_failures_total 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
}

func TestStatusClassIndex(t *testing.T) {
	for status, want := range map[int]int{0: 0, 99: 0, 100: 1, 200: 2, 299: 2, 404: 4, 499: 4, 503: 5, 600: 0} {
		if got := StatusClassIndex(status); got != want {
			t.Errorf("StatusClassIndex(%d) = %d, want %d", status, got, want)
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	tgt := New().ForTarget("m", "p")
	o := &Observation{Status: 200, Duration: 30 * time.Millisecond, Overhead: 20 * time.Microsecond, InputTokens: 9, OutputTokens: 16, HasUsage: true}
	b.ReportAllocs()
	for b.Loop() {
		tgt.Observe(o)
	}
}

func TestRegisterTo(t *testing.T) {
	reg := prometheus.NewRegistry()
	var err error
	a := RegisterTo(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"}), &err)
	again := RegisterTo(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"}), &err)
	if err != nil || again != a {
		t.Fatalf("re-registering a name: err %v, shared %v; want the existing collector back", err, again == a)
	}
	// A gauge under a counter's name fails; what follows is not registered.
	RegisterTo(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_total", Help: "other"}), &err)
	first := err
	RegisterTo(reg, prometheus.NewCounter(prometheus.CounterOpts{Name: "y_total", Help: "y"}), &err)
	if first == nil || err != first {
		t.Fatalf("err = %v after a conflict, then %v; want the first error kept", first, err)
	}
	if mfs, _ := reg.Gather(); len(mfs) != 1 {
		t.Fatalf("%d families registered, want only x_total", len(mfs))
	}
}
