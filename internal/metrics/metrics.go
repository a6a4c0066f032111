// Package metrics owns Sluice's Prometheus registry and the metric
// definitions every feature shares.
//
// Names follow the OpenTelemetry GenAI semantic conventions where one exists
// (gen_ai.server.request.duration → gen_ai_server_request_duration_seconds);
// Sluice's own series are sluice_*. Labels are bounded: model, provider,
// status class, key id, token type, error kind — never request ids, end
// users or secrets.
//
// Label lookups cost a hash and a lock, so the request path never calls
// WithLabelValues: it resolves handles once per (model, provider) with
// ForTarget and then only touches atomics.
package metrics

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label names.
const (
	LabelModel       = "model"
	LabelProvider    = "provider"
	LabelStatusClass = "status_class"
	LabelKeyID       = "key_id"
	LabelTokenType   = "token_type"
	LabelKind        = "kind"
	LabelRoute       = "route"
)

// Token types for token series.
const (
	TokenInput  = "input"
	TokenOutput = "output"
)

// StatusClasses are the values of the status_class label, indexed by
// status/100 (index 0 is used for "no status": the client went away).
var statusClasses = [6]string{"none", "1xx", "2xx", "3xx", "4xx", "5xx"}

// StatusClassIndex maps an HTTP status to an index into per-class handles.
func StatusClassIndex(status int) int {
	c := status / 100
	if c < 1 || c > 5 {
		return 0
	}
	return c
}

// latencyBuckets span 100µs to ~2 min: gateway overhead sits at the bottom,
// LLM replies at the top.
var latencyBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
	0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160,
}

// overheadBuckets resolve the gateway's own time: 5µs to 100ms.
var overheadBuckets = []float64{
	0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
	0.0025, 0.005, 0.01, 0.025, 0.1,
}

// tpotBuckets resolve time per output token: 1ms to 2.5s.
var tpotBuckets = []float64{
	0.001, 0.0025, 0.005, 0.0075, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5,
}

// tokenBuckets follow the OpenTelemetry GenAI advice for token counts.
var tokenBuckets = []float64{
	1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
}

// Registry is the process's metrics. Create one with New.
type Registry struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	ttft            *prometheus.HistogramVec
	tokenUsage      *prometheus.HistogramVec
	tokens          *prometheus.CounterVec
	overhead        *prometheus.HistogramVec
	upstreamErrors  *prometheus.CounterVec
	inFlight        prometheus.Gauge
	streamsOpen     prometheus.Gauge
	gatewayErrors   *prometheus.CounterVec
	clientCancelled *prometheus.CounterVec
	targetState     *prometheus.GaugeVec
	retries         *prometheus.CounterVec
	fallbacks       *prometheus.CounterVec
	guardVerdicts   *prometheus.CounterVec
	tpot            *prometheus.HistogramVec
	cost            *prometheus.CounterVec
	unpriced        *prometheus.CounterVec
	adminAuthFails  prometheus.Counter
}

// New builds a registry with the Go runtime and process collectors and all
// shared series.
func New() *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	r.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_requests_total",
		Help: "Requests answered on model routes, by public model, provider and status class.",
	}, []string{LabelModel, LabelProvider, LabelStatusClass, LabelKeyID})
	r.requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gen_ai_server_request_duration_seconds",
		Help:    "Time from request received to the last byte of the reply, as OpenTelemetry gen_ai.server.request.duration.",
		Buckets: latencyBuckets,
	}, []string{LabelModel, LabelProvider, LabelStatusClass})
	r.ttft = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gen_ai_server_time_to_first_token_seconds",
		Help:    "Time from request received to the first streamed event relayed, as OpenTelemetry gen_ai.server.time_to_first_token.",
		Buckets: latencyBuckets,
	}, []string{LabelModel, LabelProvider})
	r.tokenUsage = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gen_ai_client_token_usage",
		Help:    "Tokens per request by type (input, output), as OpenTelemetry gen_ai.client.token.usage.",
		Buckets: tokenBuckets,
	}, []string{LabelModel, LabelProvider, LabelTokenType})
	r.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_tokens_total",
		Help: "Tokens accounted from upstream usage, by type (input, output).",
	}, []string{LabelModel, LabelProvider, LabelTokenType})
	r.overhead = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sluice_overhead_seconds",
		Help:    "Time Sluice itself spent on a request: total minus the time spent waiting on the upstream.",
		Buckets: overheadBuckets,
	}, []string{LabelModel, LabelProvider})
	r.upstreamErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_upstream_errors_total",
		Help: "Upstream exchanges that failed without a usable reply, by provider and kind (connect, timeout, reset, malformed, status).",
	}, []string{LabelProvider, LabelKind})
	r.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sluice_requests_in_flight",
		Help: "Requests being served right now on /v1 routes.",
	})
	r.streamsOpen = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sluice_streams_open",
		Help: "Streamed replies being relayed right now.",
	})
	r.gatewayErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_errors_total",
		Help: "Errors Sluice produced itself, by route and error code.",
	}, []string{LabelRoute, LabelKind})
	r.clientCancelled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_client_cancelled_total",
		Help: "Requests whose client went away before the reply finished (recorded with status 499).",
	}, []string{LabelModel, LabelProvider})

	r.targetState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sluice_target_state",
		Help: "Circuit breaker state of each routing target: 0 closed (serving), 1 open (cooling down), 2 half-open (probing).",
	}, []string{LabelModel, "target"})
	r.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_retries_total",
		Help: "Upstream attempts after a request's first, by public model.",
	}, []string{LabelModel})
	r.fallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_fallbacks_total",
		Help: "Requests served (or tried) by a fallback model, by the public model asked for.",
	}, []string{LabelModel})

	r.guardVerdicts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_guardrail_verdicts_total",
		Help: "Guardrail rule matches, by rule, action (block, redact, flag) and scope (input, output).",
	}, []string{"rule", "action", "scope"})

	r.tpot = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gen_ai_server_time_per_output_token_seconds",
		Help:    "Time per output token after the first, for successful streamed replies, as OpenTelemetry gen_ai.server.time_per_output_token.",
		Buckets: tpotBuckets,
	}, []string{LabelModel, LabelProvider})
	r.cost = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_cost_usd_total",
		Help: "Spend in USD from upstream usage and the pricing table, by public model and provider.",
	}, []string{LabelModel, LabelProvider})
	r.unpriced = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_unpriced_requests_total",
		Help: "Requests sent upstream for a model with no price (neither the public nor the upstream model is in the price catalog or the config's pricing): they cost 0 in budgets, sluice_cost_usd_total and the request log. By public model.",
	}, []string{LabelModel})

	r.adminAuthFails = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sluice_admin_auth_failures_total",
		Help: "Admin API requests with a missing or wrong admin token (requests refused while their source is throttled are not counted).",
	})

	r.reg.MustRegister(r.adminAuthFails, r.guardVerdicts, r.tpot, r.cost, r.unpriced, r.requests, r.requestDuration, r.ttft, r.tokenUsage, r.tokens,
		r.overhead, r.upstreamErrors, r.inFlight, r.streamsOpen, r.gatewayErrors, r.clientCancelled,
		r.targetState, r.retries, r.fallbacks)
	return r
}

// Register registers c on reg, or returns the collector already registered
// under its name, so that a component rebuilt on the same registry (a
// second limiter, a pipeline reopened) shares its series instead of
// failing. Feature packages register their own series with it.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if old, ok := are.ExistingCollector.(C); ok {
			return old, nil
		}
	}
	return c, err
}

// RegisterTo is Register for a constructor that registers several series:
// it does nothing once *errp holds an error, and records its own failure
// there, so the caller checks once, after the last, and gets the first error.
func RegisterTo[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	if *errp != nil {
		return c
	}
	c, *errp = Register(reg, c)
	return c
}

// Prometheus exposes the underlying registry so features can register
// their own series.
func (r *Registry) Prometheus() *prometheus.Registry { return r.reg }

// Handler serves the text exposition format (net/http; the gateway adapts it).
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{})
}

// InFlight is the gauge of requests being served.
func (r *Registry) InFlight() prometheus.Gauge { return r.inFlight }

// StreamsOpen is the gauge of streams being relayed.
func (r *Registry) StreamsOpen() prometheus.Gauge { return r.streamsOpen }

// GatewayError counts an error Sluice produced itself. Route and code come
// from small fixed sets, so the lookup is acceptable on error paths.
func (r *Registry) GatewayError(route, code string) {
	r.gatewayErrors.WithLabelValues(route, code).Inc()
}

// AdminAuthFailure counts an admin API request with a missing or wrong
// admin token.
func (r *Registry) AdminAuthFailure() { r.adminAuthFails.Inc() }

// UpstreamError counts a failed upstream exchange.
func (r *Registry) UpstreamError(provider, kind string) {
	r.upstreamErrors.WithLabelValues(provider, kind).Inc()
}

// GuardrailVerdict counts n matches of a guardrail rule. Rule names come
// from the config, so the label set is bounded.
func (r *Registry) GuardrailVerdict(rule, action, scope string, n int) {
	if n > 0 {
		r.guardVerdicts.WithLabelValues(rule, action, scope).Add(float64(n))
	}
}

// Target holds the handles of one (model, provider) pair, resolved once.
type Target struct {
	requests  [6]prometheus.Counter
	duration  [6]prometheus.Observer
	ttft      prometheus.Observer
	tokensIn  prometheus.Counter
	tokensOut prometheus.Counter
	usageIn   prometheus.Observer
	usageOut  prometheus.Observer
	overhead  prometheus.Observer
	cancelled prometheus.Counter
	tpot      prometheus.Observer
	cost      prometheus.Counter
	unpriced  prometheus.Counter
}

// ForTarget resolves the handles for a public model served by a provider.
// Call it at start-up or when a config is loaded, not per request.
func (r *Registry) ForTarget(model, provider string) *Target {
	t := &Target{
		ttft:      r.ttft.WithLabelValues(model, provider),
		tokensIn:  r.tokens.WithLabelValues(model, provider, TokenInput),
		tokensOut: r.tokens.WithLabelValues(model, provider, TokenOutput),
		usageIn:   r.tokenUsage.WithLabelValues(model, provider, TokenInput),
		usageOut:  r.tokenUsage.WithLabelValues(model, provider, TokenOutput),
		overhead:  r.overhead.WithLabelValues(model, provider),
		cancelled: r.clientCancelled.WithLabelValues(model, provider),
		tpot:      r.tpot.WithLabelValues(model, provider),
		cost:      r.cost.WithLabelValues(model, provider),
		unpriced:  r.unpriced.WithLabelValues(model),
	}
	for i, c := range statusClasses {
		t.requests[i] = r.requests.WithLabelValues(model, provider, c, "")
		t.duration[i] = r.requestDuration.WithLabelValues(model, provider, c)
	}
	return t
}

// Observation is what one finished request reports.
type Observation struct {
	Status       int           // HTTP status sent to the client (499: client went away)
	Duration     time.Duration // request received → last byte relayed
	TTFT         time.Duration // first streamed event relayed; 0 if not a stream
	Overhead     time.Duration // Duration minus time waiting on the upstream
	InputTokens  int64
	OutputTokens int64
	HasUsage     bool // the upstream reported usage
	CostUSD      float64
	// Unpriced: the request reached an upstream and its model has no
	// price, so CostUSD is 0 whatever its usage.
	Unpriced bool
}

// Observe records one finished request. It only touches atomics.
func (t *Target) Observe(o *Observation) {
	i := StatusClassIndex(o.Status)
	if o.Status == 499 {
		t.cancelled.Inc()
	}
	t.requests[i].Inc()
	t.duration[i].Observe(o.Duration.Seconds())
	if o.TTFT > 0 {
		t.ttft.Observe(o.TTFT.Seconds())
	}
	if o.Overhead > 0 {
		t.overhead.Observe(o.Overhead.Seconds())
	}
	if o.HasUsage {
		t.tokensIn.Add(float64(o.InputTokens))
		t.tokensOut.Add(float64(o.OutputTokens))
		t.usageIn.Observe(float64(o.InputTokens))
		t.usageOut.Observe(float64(o.OutputTokens))
		if o.TTFT > 0 && o.OutputTokens > 1 && o.Status < 300 {
			t.tpot.Observe((o.Duration - o.TTFT).Seconds() / float64(o.OutputTokens-1))
		}
	}
	if o.CostUSD > 0 {
		t.cost.Add(o.CostUSD)
	}
	if o.Unpriced {
		t.unpriced.Inc()
	}
}

// Model holds the routing handles of one public model.
type Model struct {
	Retries   prometheus.Counter
	Fallbacks prometheus.Counter
}

// ForModel resolves the routing handles of a public model.
func (r *Registry) ForModel(model string) *Model {
	return &Model{Retries: r.retries.WithLabelValues(model), Fallbacks: r.fallbacks.WithLabelValues(model)}
}

// TargetState is the breaker-state gauge of one routing target.
func (r *Registry) TargetState(model, target string) prometheus.Gauge {
	return r.targetState.WithLabelValues(model, target)
}
