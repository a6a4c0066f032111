package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/metrics"
	"github.com/sluice-gw/sluice/internal/pricing"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/route"
)

// snapshot is everything the gateway derives from one config: models and
// their targets, upstream clients, guardrail policies, prices, the model
// lists. It is built whole by buildSnapshot and never changed after it is
// published (the "provider/model" cache aside, which is its own). A reload
// builds a new one and swaps it in atomically; every request loads the
// snapshot once on arrival and keeps it until it settles, so requests and
// streams in flight finish on the config they started with.
//
// Stateful parts whose settings did not change are carried over from the
// previous snapshot rather than rebuilt: upstream clients (their pooled
// connections and provider-key cooldowns), targets (their circuit breakers
// and latency estimates), the retry budget and the compiled guardrails.
type snapshot struct {
	cfg  *config.Config
	hash string // of the config file's bytes; "" when built in code

	met    *metrics.Registry
	models map[string]*model
	ups    map[string]*provider.Upstream
	pass   *provider.Upstream // catch-all /v1/* target; nil: 404
	// passFormat is the catch-all for the paths a format claims
	// (wire.Hooks' PathPrefix, such as /v1/messages/*): the first provider
	// of that format; nil: pass.
	passFormat [provider.NumFormats]*provider.Upstream
	others     map[string]*metrics.Target
	// patterns are the models whose names end in '*', longest prefix first
	// (route.SortPatterns); they are in models too, under their names.
	patterns []route.Pattern[*model]

	dynMu sync.Mutex
	dyn   atomic.Pointer[map[string]*model] // "provider/model" names seen so far
	// prevDyn is the previous snapshot's dyn: a name seen again keeps its
	// target (breaker, latency) when its provider's client was kept.
	prevDyn map[string]*model
	// dynNames bounds the names given metric labels of their own over the
	// process's life, across reloads; shared by every snapshot.
	dynNames *dynNames

	budget *route.Budget  // retries across the gateway
	guards *guards        // nil: no guardrails configured
	prices *pricing.Table // catalog + the config's pricing
	// unpriced are the configured models' targets with no price (cost 0):
	// warned at build, shown in /readyz's detail.
	unpriced   []pricing.Missing
	logBodies  logBodies
	maxLogBody int

	modelsJSON [provider.NumFormats][]byte // GET /v1/models of every model, by format
	// modelsCreated is every model's "created": when the first snapshot
	// was built (a reload keeps it, so a list and a single model agree).
	modelsCreated time.Time
}

// buildSnapshot derives a snapshot from cfg, reusing what prev (nil at
// start) holds for settings that did not change.
func buildSnapshot(cfg *config.Config, hash string, prev *snapshot, met *metrics.Registry, log *slog.Logger, logging bool, prices *pricing.Table) (*snapshot, error) {
	s := &snapshot{
		cfg:    cfg,
		hash:   hash,
		met:    met,
		models: make(map[string]*model, len(cfg.Models)),
		ups:    make(map[string]*provider.Upstream, len(cfg.Providers)),
	}
	empty := map[string]*model{}
	s.dyn.Store(&empty)
	s.dynNames = &dynNames{m: map[string]struct{}{}}
	var prevProviders map[string]*config.Provider
	if prev != nil {
		prevProviders = providersByName(prev.cfg)
		s.prevDyn, s.dynNames = *prev.dyn.Load(), prev.dynNames
	}
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		if old := prevProviders[p.Name]; old != nil && reflect.DeepEqual(old, p) {
			s.ups[p.Name] = prev.ups[p.Name] // same settings: keep its connections
			continue
		}
		up, err := provider.NewUpstream(p)
		if err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
		s.ups[p.Name] = up
	}
	if prev != nil && reflect.DeepEqual(prev.cfg.Guardrails, cfg.Guardrails) {
		s.guards = prev.guards
	} else {
		gs, err := newGuards(&cfg.Guardrails, log)
		if err != nil {
			return nil, err
		}
		s.guards = gs
	}
	if logging {
		s.logBodies, s.maxLogBody = parseLogBodies(cfg.Telemetry.LogBodies), cfg.Telemetry.MaxBodyBytes.Int()
	}
	if s.prices = prices; prices == nil {
		var err error
		if s.prices, err = pricing.New(cfg.Pricing); err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
	}
	if s.unpriced = s.prices.Unpriced(cfg); len(s.unpriced) > 0 && log != nil {
		log.LogAttrs(context.Background(), slog.LevelWarn, "models without a price cost 0 in budgets, metrics and logs; add them to the config's pricing (sluice pricing check)",
			slog.String("models", unpricedList(s.unpriced)))
	}
	rb := cfg.Routing.RetryBudget
	if prev != nil && prev.budget.Ratio == rb.Ratio && prev.budget.MinConcurrent == int64(rb.MinConcurrent) {
		s.budget = prev.budget // its count of active requests goes on
	} else {
		s.budget = &route.Budget{Ratio: rb.Ratio, MinConcurrent: int64(rb.MinConcurrent)}
	}
	if err := s.buildModels(prev); err != nil {
		return nil, err
	}
	if name := cfg.Passthrough.Provider; name != "" {
		s.pass = s.ups[name]
	}
	s.others = make(map[string]*metrics.Target, len(s.ups))
	for _, p := range cfg.Providers {
		s.others[p.Name] = met.ForTarget("other", p.Name)
		if up := s.ups[p.Name]; up != nil && s.passFormat[up.Format()] == nil {
			s.passFormat[up.Format()] = up
		}
	}
	s.modelsCreated = time.Now().Truncate(time.Second)
	if prev != nil {
		s.modelsCreated = prev.modelsCreated
	}
	for f := provider.Format(1); int(f) < provider.NumFormats; f++ {
		if !f.Hooks().UpstreamOnly {
			s.modelsJSON[f] = s.modelList(nil, f)
		}
	}
	return s, nil
}

func providersByName(cfg *config.Config) map[string]*config.Provider {
	m := make(map[string]*config.Provider, len(cfg.Providers))
	for i := range cfg.Providers {
		m[cfg.Providers[i].Name] = &cfg.Providers[i]
	}
	return m
}

// resolve maps a requested model name to a public model, to a one-target
// model of its own for "provider/model", or to the pattern model whose
// prefix it has (route.Resolve holds the order). A pattern model's targets
// without a model of their own send the requested name upstream
// (target.upstreamModel); its metrics carry the pattern's name, so
// requested names never become labels.
func (s *snapshot) resolve(name string) (*model, *HTTPError) {
	m, up, ok := route.Resolve(name, s.models, s.ups, s.patterns)
	if !ok {
		return nil, &HTTPError{Status: 404, Code: CodeModelNotFound, Param: "model",
			Msg: "model " + quote(name) + " does not exist on this gateway; GET /v1/models lists the models you can use"}
	}
	if m == nil {
		m = s.dynamicTarget(up, name)
	}
	return m, nil
}

// dynNames is the set of "provider/model" names that have metric labels of
// their own, at most maxDynamicTargets of them.
type dynNames struct {
	mu sync.Mutex
	m  map[string]struct{}
}

// admit reports whether name has, or may now get, labels of its own.
func (d *dynNames) admit(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.m[name]; ok {
		return true
	}
	if len(d.m) >= maxDynamicTargets {
		return false
	}
	d.m[name] = struct{}{}
	return true
}

// dynamicTarget returns the cached one-target model for "provider/model",
// creating it on first use.
func (s *snapshot) dynamicTarget(up *provider.Upstream, name string) *model {
	if t := (*s.dyn.Load())[name]; t != nil {
		return t
	}
	s.dynMu.Lock()
	defer s.dynMu.Unlock()
	old := *s.dyn.Load()
	if t := old[name]; t != nil {
		return t
	}
	if !s.dynNames.admit(name) {
		// Not cached. The name is cloned: it points into the request
		// body, and the request's log record outlives the request.
		return s.singleModel(up, strings.Clone(name), s.otherMetrics(up.Name()), s.met.ForModel("other"), nil)
	}
	name = strings.Clone(name) // the caller's string points into the request body
	var keep *target
	if pm := s.prevDyn[name]; pm != nil {
		if p := pm.pool; p != nil && len(p.Targets) == 1 {
			if t := p.Targets[0].Value.(*target); t.up == up {
				keep = t
			}
		}
	}
	t := s.singleModel(up, name, s.met.ForTarget(name, up.Name()), s.met.ForModel(name), keep)
	next := make(map[string]*model, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[name] = t
	s.dyn.Store(&next)
	return t
}

// otherMetrics returns the shared handles of uncached "provider/model"
// names for one provider (ForTarget returns the same series every time).
func (s *snapshot) otherMetrics(provider string) *metrics.Target {
	if m := s.others[provider]; m != nil {
		return m
	}
	return s.met.ForTarget("other", provider)
}

// modelList renders GET /v1/models in format f: every public model, or
// those pol allows when pol is not nil. Patterns are not models a client
// can name, so they are not listed (GET /v1/models/{id} answers for the
// names they match).
func (s *snapshot) modelList(pol *auth.Policy, f provider.Format) []byte {
	var listed []wire.Model
	for _, mc := range s.cfg.Models {
		if _, pattern := config.ModelPattern(mc.Name); pattern {
			continue
		}
		if pol == nil || pol.Allows(mc.Name) {
			listed = append(listed, wire.Model{ID: mc.Name, Owner: mc.Targets[0].Provider, Created: s.modelsCreated})
		}
	}
	return f.Hooks().AppendModels(nil, listed)
}

// unpricedList names unpriced targets for a log line or /readyz: "model
// (provider/upstream)", comma-separated.
func unpricedList(ms []pricing.Missing) string {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.Model)
		b.WriteString(" (")
		b.WriteString(m.Provider)
		b.WriteByte('/')
		b.WriteString(m.Upstream)
		b.WriteByte(')')
	}
	return b.String()
}
