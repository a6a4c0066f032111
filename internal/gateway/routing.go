package gateway

import (
	"fmt"
	"strconv"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/metrics"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/route"
)

// retryPolicy is a model's resolved retry policy.
type retryPolicy struct {
	attempts int // retries per target after its first attempt
	backoff  route.Backoff
	on       triggers
}

// triggers is the set of outcomes that make Sluice try again.
type triggers struct {
	connect, timeout, s429, s4xx, s5xx bool
	codes                              map[int]bool
}

func newTriggers(on []string) triggers {
	var t triggers
	for _, s := range on {
		switch s {
		case "connect":
			t.connect = true
		case "timeout":
			t.timeout = true
		case "429":
			t.s429 = true
		case "4xx":
			t.s4xx = true
		case "5xx":
			t.s5xx = true
		default:
			if n, err := strconv.Atoi(s); err == nil {
				if t.codes == nil {
					t.codes = map[int]bool{}
				}
				t.codes[n] = true
			}
		}
	}
	return t
}

// status reports whether an upstream reply status triggers another try.
func (t *triggers) status(code int) bool {
	switch {
	case code == 429 && t.s429, code >= 500 && t.s5xx, code >= 400 && code < 500 && t.s4xx:
		return true
	}
	return t.codes[code]
}

// failure reports whether a failed exchange (no reply) triggers another try.
func (t *triggers) failure(kind string) bool {
	switch kind {
	case provider.KindTimeout:
		return t.timeout
	case provider.KindNoConns:
		return false // our own limit: another try would hit it too
	}
	return t.connect
}

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

// buildModels turns the configured models into routing pools, resolving
// fallbacks and per-target timeouts.
func (g *Gateway) buildModels() error {
	cfg := g.cfg
	providers := make(map[string]*config.Provider, len(cfg.Providers))
	for i := range cfg.Providers {
		providers[cfg.Providers[i].Name] = &cfg.Providers[i]
	}
	bc := route.BreakerConfig{
		Failures:    cfg.Routing.Breaker.Failures,
		Cooldown:    cfg.Routing.Breaker.Cooldown.D(),
		ErrorRate:   cfg.Routing.Breaker.ErrorRate,
		Window:      cfg.Routing.Breaker.Window.D(),
		MinRequests: cfg.Routing.Breaker.MinRequests,
	}
	for i := range cfg.Models {
		mc := &cfg.Models[i]
		strategy, err := route.NewStrategy(mc.Strategy)
		if err != nil {
			return fmt.Errorf("gateway: model %s: %w", mc.Name, err)
		}
		m := &model{name: mc.Name, met: g.met.ForModel(mc.Name), retry: g.retryPolicy(mc.Retry)}
		if g.guards != nil {
			m.guardSets = g.guards.modelSets(mc)
			if m.guard, err = g.guards.policy(m.guardSets); err != nil {
				return fmt.Errorf("gateway: model %s: guardrails: %w", mc.Name, err)
			}
		}
		for _, tc := range mc.Targets {
			pc := providers[tc.Provider]
			if pc == nil {
				return fmt.Errorf("gateway: model %s: unknown provider %q", mc.Name, tc.Provider)
			}
			up := g.ups[tc.Provider]
			if over := mergeTimeouts(mc.Timeouts, tc.Timeouts); over != (config.Timeouts{}) {
				// Timeouts differ from the provider's: a client of its own
				// (the idle timeout lives on the connections).
				own := *pc
				own.Timeouts = mergeTimeouts(pc.Timeouts, over)
				if up, err = provider.NewUpstream(&own); err != nil {
					return fmt.Errorf("gateway: model %s: %w", mc.Name, err)
				}
			}
			t := &target{up: up, model: tc.Model, name: tc.Name, met: g.met.ForTarget(mc.Name, tc.Provider)}
			if t.model == "" {
				t.model = mc.Name
			}
			if t.name == "" {
				t.name = tc.Provider + "/" + t.model
			}
			t.nameBytes = []byte(t.name)
			t.rt = &route.Target{Name: t.name, Provider: tc.Provider, Weight: tc.Weight, Value: t}
			t.rt.Breaker().Configure(bc)
			gauge := g.met.TargetState(mc.Name, t.name)
			t.rt.Breaker().OnChange = func(state int) { gauge.Set(float64(state)) }
			f := up.Format()
			if m.pools[f] == nil {
				m.pools[f] = &route.Pool{Strategy: strategy}
			}
			m.pools[f].Targets = append(m.pools[f].Targets, t.rt)
		}
		g.models[mc.Name] = m
	}
	for _, mc := range cfg.Models {
		m := g.models[mc.Name]
		for _, fb := range mc.Fallbacks {
			if f := g.models[fb]; f != nil {
				m.fallbacks = append(m.fallbacks, f)
			}
		}
	}
	return nil
}

func (g *Gateway) retryPolicy(r *config.Retry) retryPolicy {
	if r == nil {
		r = &g.cfg.Routing.Retry
	}
	p := retryPolicy{
		attempts: config.DefaultRetryAttempts,
		backoff:  route.Backoff{Base: r.Backoff.D(), Max: r.MaxBackoff.D(), MaxRetryAfter: r.MaxRetryAfter.D()},
		on:       newTriggers(r.On),
	}
	if r.Attempts != nil {
		p.attempts = *r.Attempts
	}
	if len(r.On) == 0 {
		p.on = newTriggers(config.DefaultRetryOn)
	}
	return p
}

// singleModel is the one-target model of a "provider/model" name.
func (g *Gateway) singleModel(up *provider.Upstream, name string, tm *metrics.Target, mm *metrics.Model) *model {
	t := &target{up: up, model: name[len(up.Name())+1:], name: name, nameBytes: []byte(name), met: tm}
	t.rt = &route.Target{Name: name, Provider: up.Name(), Weight: 1, Value: t}
	m := &model{name: name, met: mm, retry: g.retryPolicy(nil)}
	if g.guards != nil {
		// Checked at start-up: every set named in the config exists.
		m.guardSets = g.guards.providerSets(g.cfg, up.Name())
		m.guard, _ = g.guards.policy(m.guardSets)
	}
	m.pools[up.Format()] = &route.Pool{Targets: []*route.Target{t.rt}, Strategy: route.Weighted{}}
	return m
}

// sleep waits d unless the request's deadline comes first; it reports
// whether the full wait happened.
func sleepUntil(d time.Duration, deadline time.Time) bool {
	if time.Now().Add(d).After(deadline) {
		return false
	}
	time.Sleep(d)
	return true
}
