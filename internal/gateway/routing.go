package gateway

import (
	"cmp"
	"fmt"
	"reflect"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/metrics"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/route"
)

// mergeTimeouts returns base with the non-zero fields of over.
func mergeTimeouts(base, over config.Timeouts) config.Timeouts {
	if over.Connect > 0 {
		base.Connect = over.Connect
	}
	if over.FirstByte > 0 {
		base.FirstByte = over.FirstByte
	}
	if over.Idle > 0 {
		base.Idle = over.Idle
	}
	if over.Total > 0 {
		base.Total = over.Total
	}
	return base
}

// targetConf is what a target is built from. A reload keeps the target
// (its breaker state, latency estimate and in-flight count) when its
// targetConf is unchanged and its upstream client was kept.
type targetConf struct {
	model   string // the public model
	target  config.Target
	timeout config.Timeouts // the model's, merged under the target's
	breaker route.BreakerConfig
	up      *provider.Upstream // the provider's client it was built on
}

// buildModels turns the configured models into routing pools, resolving
// fallbacks and per-target timeouts. Targets of prev whose settings did
// not change are carried over.
func (s *snapshot) buildModels(prev *snapshot) error {
	cfg := s.cfg
	providers := providersByName(cfg)
	bc := route.BreakerConfig{
		Failures:    cfg.Routing.Breaker.Failures,
		Cooldown:    cfg.Routing.Breaker.Cooldown.D(),
		ErrorRate:   cfg.Routing.Breaker.ErrorRate,
		Window:      cfg.Routing.Breaker.Window.D(),
		MinRequests: cfg.Routing.Breaker.MinRequests,
	}
	kept := map[string]*target{}
	if prev != nil {
		for _, m := range prev.models {
			for _, rt := range m.pool.Targets {
				t := rt.Value.(*target)
				kept[t.conf.model+"\x00"+t.name] = t
			}
		}
	}
	for i := range cfg.Models {
		mc := &cfg.Models[i]
		strategy, err := route.NewStrategy(mc.Strategy)
		if err != nil {
			return fmt.Errorf("gateway: model %s: %w", mc.Name, err)
		}
		m := &model{name: mc.Name, owner: mc.Targets[0].Provider, met: s.met.ForModel(mc.Name)}
		retry := s.retryPolicy(mc.Retry)
		m.pool = &route.Pool{Strategy: strategy, Retry: retry, OnRetry: m.met.Retries.Inc, OnFallback: m.met.Fallbacks.Inc}
		if s.guards != nil {
			m.guardSets = s.guards.modelSets(mc)
			if m.guard, err = s.guards.policy(m.guardSets); err != nil {
				return fmt.Errorf("gateway: model %s: guardrails: %w", mc.Name, err)
			}
		}
		for _, tc := range mc.Targets {
			pc := providers[tc.Provider]
			if pc == nil {
				return fmt.Errorf("gateway: model %s: unknown provider %q", mc.Name, tc.Provider)
			}
			conf := targetConf{model: mc.Name, target: tc, timeout: mergeTimeouts(mc.Timeouts, tc.Timeouts), breaker: bc, up: s.ups[tc.Provider]}
			t, err := s.newTarget(conf, pc, kept)
			if err != nil {
				return fmt.Errorf("gateway: model %s: %w", mc.Name, err)
			}
			m.pool.Targets = append(m.pool.Targets, t.rt)
		}
		s.models[mc.Name] = m
		if prefix, ok := config.ModelPattern(mc.Name); ok {
			s.patterns = append(s.patterns, route.Pattern[*model]{Prefix: prefix, Model: m})
		}
	}
	route.SortPatterns(s.patterns)
	for _, mc := range cfg.Models {
		m := s.models[mc.Name]
		for _, fb := range mc.Fallbacks {
			if f := s.models[fb]; f != nil {
				m.fallbacks = append(m.fallbacks, f)
			}
		}
		for _, f := range m.fallbacks {
			m.pool.Fallbacks = append(m.pool.Fallbacks, f.pool)
		}
	}
	return nil
}

// newTarget builds the target of conf at provider pc, or returns the one
// in kept built from the same settings.
func (s *snapshot) newTarget(conf targetConf, pc *config.Provider, kept map[string]*target) (*target, error) {
	tc := conf.target
	t := &target{up: conf.up, model: tc.Model, name: tc.Name, conf: conf}
	_, pattern := config.ModelPattern(conf.model)
	if t.model == "" && !pattern { // a pattern's forwards the requested name
		t.model = conf.model
	}
	if t.name == "" {
		// A pattern's target without a model is named after the pattern
		// ("anthropic/claude-*"): one bounded name, whatever is requested.
		t.name = tc.Provider + "/" + cmp.Or(t.model, conf.model)
	}
	if old := kept[conf.model+"\x00"+t.name]; old != nil && old.conf.up == conf.up {
		// The clients are compared by identity: DeepEqual would read a
		// live client's fields while requests use it.
		a, b := old.conf, conf
		a.up, b.up = nil, nil
		if reflect.DeepEqual(a, b) {
			return old, nil
		}
	}
	if conf.timeout != (config.Timeouts{}) {
		// Timeouts differ from the provider's: a client of its own (the
		// idle timeout lives on the connections).
		own := *pc
		own.Timeouts = mergeTimeouts(pc.Timeouts, conf.timeout)
		up, err := provider.NewUpstream(&own)
		if err != nil {
			return nil, err
		}
		t.up = up
	}
	t.met = s.met.ForTarget(conf.model, tc.Provider)
	t.nameBytes = []byte(t.name)
	t.rt = &route.Target{Name: t.name, Provider: tc.Provider, Weight: tc.Weight, TotalTimeout: t.up.Timeouts().Total, Value: t}
	t.rt.Breaker().Configure(conf.breaker)
	gauge := s.met.TargetState(conf.model, t.name)
	t.rt.Breaker().OnChange = func(state int) { gauge.Set(float64(state)) }
	return t, nil
}

// retryPolicy is the routing policy of a model's retry settings (nil:
// routing.retry's).
func (s *snapshot) retryPolicy(r *config.Retry) route.Retry {
	if r == nil {
		r = &s.cfg.Routing.Retry
	}
	p := route.Retry{
		Attempts: config.DefaultRetryAttempts,
		Backoff:  route.Backoff{Base: r.Backoff.D(), Max: r.MaxBackoff.D(), MaxRetryAfter: r.MaxRetryAfter.D()},
		On:       route.NewTriggers(r.On),
	}
	if r.Attempts != nil {
		p.Attempts = *r.Attempts
	}
	if len(r.On) == 0 {
		p.On = route.NewTriggers(config.DefaultRetryOn)
	}
	return p
}

// singleModel is the one-target model of a "provider/model" name; keep,
// when not nil, is that name's target in the previous snapshot.
func (s *snapshot) singleModel(up *provider.Upstream, name string, tm *metrics.Target, mm *metrics.Model, keep *target) *model {
	t := keep
	if t == nil {
		t = &target{up: up, model: name[len(up.Name())+1:], name: name, nameBytes: []byte(name), met: tm}
		t.rt = &route.Target{Name: name, Provider: up.Name(), Weight: 1, TotalTimeout: up.Timeouts().Total, Value: t}
	}
	m := &model{name: name, met: mm}
	if s.guards != nil {
		// Checked at start-up: every set named in the config exists.
		m.guardSets = s.guards.providerSets(s.cfg, up.Name())
		m.guard, _ = s.guards.policy(m.guardSets)
	}
	m.pool = &route.Pool{Targets: []*route.Target{t.rt}, Strategy: route.Weighted{},
		Retry: s.retryPolicy(nil), OnRetry: mm.Retries.Inc}
	return m
}
