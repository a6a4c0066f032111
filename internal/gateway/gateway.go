package gateway

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/guard"
	"github.com/sluice-gw/sluice/internal/metrics"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/ratelimit"
	"github.com/sluice-gw/sluice/internal/route"
	"github.com/sluice-gw/sluice/internal/telemetry"
	"github.com/sluice-gw/sluice/internal/tracing"
)

// Deps are the gateway's collaborators.
type Deps struct {
	// Log receives structured logs. Required.
	Log *slog.Logger
	// Metrics is the registry every series goes to. Required.
	Metrics *metrics.Registry
	// Keys authenticates virtual keys and backs the admin API. Nil: auth
	// is off (tier L0) and /admin/v1/keys answers 404.
	Keys *auth.Service
	// Limits enforces rate limits and budgets. Nil: no limits.
	Limits *ratelimit.Limiter
	// Telemetry takes one record per request. Nil: request logging is off.
	Telemetry *telemetry.Pipeline
	// Logs answers GET /admin/v1/logs and /admin/v1/usage. Nil: they
	// answer 404.
	Logs LogStore
	// Tracer exports spans of sampled requests. Nil: no tracing.
	Tracer *tracing.Tracer
}

// Gateway serves the client API. Build it with New; it is safe for
// concurrent use.
type Gateway struct {
	cfg                             *config.Config
	log                             *slog.Logger
	met                             *metrics.Registry
	keys                            *auth.Service
	lim                             *ratelimit.Limiter
	adminHash                       [32]byte // SHA-256 of the admin token; zero: admin API off
	ids                             *requestIDs
	models                          map[string]*model
	ups                             map[string]*provider.Upstream
	pass                            *provider.Upstream // catch-all /v1/* target; nil: 404
	routes                          map[string]*endpoint
	modelsJSON, modelsAnthropicJSON []byte

	dynMu sync.Mutex
	dyn   atomic.Pointer[map[string]*model] // "provider/model" names seen so far

	passAnthropic *provider.Upstream // catch-all for /v1/messages/*: the first anthropic provider
	others        map[string]*metrics.Target

	budget route.Budget // retries across the gateway
	guards *guards      // nil: no guardrails configured

	tracer     *tracing.Tracer     // nil: no tracing
	tel        *telemetry.Pipeline // nil: no request logging
	logStore   LogStore
	prices     *ratelimit.Prices
	logBodies  logBodies
	maxLogBody int

	ready    atomic.Bool
	draining atomic.Bool
	inFlight atomic.Int64
	waiters  waiters // exchanges waiting on an upstream, for clients that leave (abandon.go)
}

// maxDynamicTargets caps the "provider/model" names cached with their own
// metric labels; beyond it a name gets a fresh target sharing the label
// "other", so clients cannot grow the cache or the label set.
const maxDynamicTargets = 256

// model is a public model name, its targets by wire format, its fallbacks
// and its retry policy.
type model struct {
	name      string
	pools     [3]*route.Pool // indexed by provider.Format; nil: no target of that format
	fallbacks []*model
	retry     retryPolicy
	met       *metrics.Model
	guardSets []string      // guardrail sets applied when the key names none
	guard     *guard.Policy // their compiled policy; nil: no rules
}

// target is one upstream model at one provider, with its resolved metric
// handles and its routing state.
type target struct {
	up        *provider.Upstream // the provider's, or a dedicated one when timeouts are overridden
	model     string             // upstream model name
	name      string             // x-sluice-target
	nameBytes []byte             // name, for the response header
	met       *metrics.Target
	rt        *route.Target
}

// endpoint is a model route of the client API.
type endpoint struct {
	path   string
	op     provider.Operation
	format provider.Format
}

var modelRoutes = []endpoint{
	{"/v1/chat/completions", provider.OpChat, provider.FormatOpenAI},
	{"/v1/completions", provider.OpCompletions, provider.FormatOpenAI},
	{"/v1/embeddings", provider.OpEmbeddings, provider.FormatOpenAI},
	{"/v1/responses", provider.OpResponses, provider.FormatOpenAI},
	{"/v1/messages", provider.OpMessages, provider.FormatAnthropic},
	{"/v1/messages/count_tokens", provider.OpCountTokens, provider.FormatAnthropic},
}

// New builds a gateway from a loaded, validated config.
func New(cfg *config.Config, d Deps) (*Gateway, error) {
	log, met := d.Log, d.Metrics
	if cfg == nil || log == nil || met == nil {
		return nil, errors.New("gateway: config, logger and metrics are required")
	}
	if cfg.Auth.Enabled && d.Keys == nil {
		return nil, errors.New("gateway: auth.enabled is set but no key service was given")
	}
	g := &Gateway{
		cfg:    cfg,
		log:    log,
		met:    met,
		keys:   d.Keys,
		lim:    d.Limits,
		ids:    newRequestIDs(),
		models: make(map[string]*model, len(cfg.Models)),
		ups:    make(map[string]*provider.Upstream, len(cfg.Providers)),
		routes: make(map[string]*endpoint, len(modelRoutes)),
	}
	empty := map[string]*model{}
	g.dyn.Store(&empty)
	for i := range modelRoutes {
		g.routes[modelRoutes[i].path] = &modelRoutes[i]
	}
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		up, err := provider.NewUpstream(p)
		if err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
		g.ups[p.Name] = up
	}
	gs, err := newGuards(&cfg.Guardrails, log)
	if err != nil {
		return nil, err
	}
	g.guards = gs
	if d.Telemetry != nil {
		g.tel, g.logBodies, g.maxLogBody = d.Telemetry, parseLogBodies(cfg.Telemetry.LogBodies), cfg.Telemetry.MaxBodyBytes.Int()
	}
	if len(cfg.Pricing) > 0 {
		if g.prices, err = ratelimit.NewPrices(cfg.Pricing); err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
	}
	g.logStore = d.Logs
	g.tracer = d.Tracer
	g.budget = route.Budget{Ratio: cfg.Routing.RetryBudget.Ratio, MinConcurrent: int64(cfg.Routing.RetryBudget.MinConcurrent)}
	if err := g.buildModels(); err != nil {
		return nil, err
	}
	if name := cfg.Passthrough.Provider; name != "" {
		g.pass = g.ups[name]
	}
	g.others = make(map[string]*metrics.Target, len(g.ups))
	for _, p := range cfg.Providers {
		g.others[p.Name] = met.ForTarget("other", p.Name)
		if g.passAnthropic == nil && p.Kind == config.KindAnthropic {
			g.passAnthropic = g.ups[p.Name]
		}
	}
	g.modelsJSON, g.modelsAnthropicJSON = g.buildModelLists(nil)
	if t := cfg.Admin.Token.Reveal(); t != "" {
		g.adminHash = sha256.Sum256([]byte(t))
	}
	return g, nil
}

// resolve maps a requested model name to a public model (exact name
// first) or, for "provider/model", to a one-target model of its own.
func (g *Gateway) resolve(name string, f provider.Format) (*model, *HTTPError) {
	m := g.models[name]
	if m == nil {
		if i := strings.IndexByte(name, '/'); i > 0 && i < len(name)-1 {
			if up := g.ups[name[:i]]; up != nil {
				m = g.dynamicTarget(up, name)
			}
		}
	}
	if m == nil {
		return nil, &HTTPError{Status: 404, Code: CodeModelNotFound, Param: "model",
			Msg: "model " + quote(name) + " does not exist on this gateway; GET /v1/models lists the models you can use"}
	}
	if m.pools[f] == nil {
		other := provider.FormatOpenAI
		if f == provider.FormatOpenAI {
			other = provider.FormatAnthropic
		}
		return nil, &HTTPError{Status: 400, Code: CodeInvalidRequest, Param: "model",
			Msg: "model " + quote(name) + " is served by a provider in " + other.String() +
				" format but this route speaks " + f.String() + " format; call the route of that format (translation between formats is not available)"}
	}
	return m, nil
}

// dynamicTarget returns the cached one-target model for "provider/model",
// creating it on first use.
func (g *Gateway) dynamicTarget(up *provider.Upstream, name string) *model {
	if t := (*g.dyn.Load())[name]; t != nil {
		return t
	}
	g.dynMu.Lock()
	defer g.dynMu.Unlock()
	old := *g.dyn.Load()
	if t := old[name]; t != nil {
		return t
	}
	if len(old) >= maxDynamicTargets {
		// Not cached. The name is cloned: it points into the request
		// body, and the request's log record outlives the request.
		return g.singleModel(up, strings.Clone(name), g.otherMetrics(up.Name()), g.met.ForModel("other"))
	}
	name = strings.Clone(name) // the caller's string points into the request body
	t := g.singleModel(up, name, g.met.ForTarget(name, up.Name()), g.met.ForModel(name))
	next := make(map[string]*model, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[name] = t
	g.dyn.Store(&next)
	return t
}

// otherMetrics returns the shared handles of uncached "provider/model"
// names for one provider (ForTarget returns the same series every time).
func (g *Gateway) otherMetrics(provider string) *metrics.Target {
	if m := g.others[provider]; m != nil {
		return m
	}
	return g.met.ForTarget("other", provider)
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return string(provider.AppendJSONString(nil, s))
}

// buildModelLists renders GET /v1/models in OpenAI and Anthropic shapes:
// every public model, or those pol allows when pol is not nil.
func (g *Gateway) buildModelLists(pol *auth.Policy) (openai, anthropic []byte) {
	created := time.Now().Unix()
	openai = append(openai, `{"object":"list","data":[`...)
	anthropic = append(anthropic, `{"data":[`...)
	var listed []config.Model
	for _, mc := range g.cfg.Models {
		if pol == nil || pol.Allows(mc.Name) {
			listed = append(listed, mc)
		}
	}
	for i, mc := range listed {
		if i > 0 {
			openai = append(openai, ',')
			anthropic = append(anthropic, ',')
		}
		openai = append(openai, `{"id":`...)
		openai = provider.AppendJSONString(openai, mc.Name)
		openai = append(openai, `,"object":"model","created":`...)
		openai = append(openai, itoa(int(created))...)
		openai = append(openai, `,"owned_by":`...)
		openai = provider.AppendJSONString(openai, mc.Targets[0].Provider)
		openai = append(openai, '}')

		anthropic = append(anthropic, `{"type":"model","id":`...)
		anthropic = provider.AppendJSONString(anthropic, mc.Name)
		anthropic = append(anthropic, `,"display_name":`...)
		anthropic = provider.AppendJSONString(anthropic, mc.Name)
		anthropic = append(anthropic, `,"created_at":"`...)
		anthropic = time.Unix(created, 0).UTC().AppendFormat(anthropic, time.RFC3339)
		anthropic = append(anthropic, `"}`...)
	}
	openai = append(openai, `]}`...)
	first, last := "null", "null"
	if n := len(listed); n > 0 {
		first, last = quote(listed[0].Name), quote(listed[n-1].Name)
	}
	anthropic = append(anthropic, `],"has_more":false,"first_id":`...)
	anthropic = append(anthropic, first...)
	anthropic = append(anthropic, `,"last_id":`...)
	anthropic = append(anthropic, last...)
	anthropic = append(anthropic, '}')
	return openai, anthropic
}
