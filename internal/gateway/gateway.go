package gateway

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
	// ConfigHash identifies the config file the gateway starts with
	// (sluice_config_info); "" for a config built in code.
	ConfigHash string
	// LoadConfig reads and validates the config file again for Reload,
	// returning the new config and the hash of the file's bytes. Nil:
	// Reload and POST /admin/v1/reload refuse (no file to reload).
	LoadConfig func() (*config.Config, string, error)
	// LogLevel is the level of Log's handler; Reload sets it from
	// log.level. Nil: the level does not reload.
	LogLevel *slog.LevelVar
}

// Gateway serves the client API. Build it with New; it is safe for
// concurrent use.
type Gateway struct {
	log       *slog.Logger
	met       *metrics.Registry
	keys      *auth.Service
	lim       *ratelimit.Limiter
	adminHash [32]byte // SHA-256 of the admin token; zero: admin API off
	ids       *requestIDs
	routes    map[string]*endpoint

	// snap is the config in force and what is derived from it (snapshot.go);
	// Reload swaps it.
	snap   atomic.Pointer[snapshot]
	reload reloader

	tracer   *tracing.Tracer     // nil: no tracing
	tel      *telemetry.Pipeline // nil: no request logging
	logStore LogStore

	ready    atomic.Bool
	draining atomic.Bool
	inFlight atomic.Int64
	over     *overload    // load shedding (overload.go)
	clients  *clientConns // per-client connection cap; nil: off (clientcap.go)
	// capLoopback counts loopback peers against the per-client cap (tests).
	capLoopback bool
	waiters     waiters // exchanges waiting on an upstream, for clients that leave (abandon.go)

	adminThrottle *adminThrottle // failed admin authentications per source
	clock         route.Clock    // routing's (breakers, retry waits); nil: the real one
}

// maxDynamicTargets caps the "provider/model" names cached with their own
// metric labels; beyond it a name gets a fresh target sharing the label
// "other", so clients cannot grow the cache or the label set.
const maxDynamicTargets = 256

// model is a public model name, its targets (of any format: a request
// reaches one of another format through translation), its fallbacks and
// its retry policy.
type model struct {
	name      string
	owner     string      // the provider of its first target, as GET /v1/models names it
	pool      *route.Pool // its targets in config order
	fallbacks []*model
	met       *metrics.Model
	guardSets []string      // guardrail sets applied when the key names none
	guard     *guard.Policy // their compiled policy; nil: no rules
}

// target is one upstream model at one provider, with its resolved metric
// handles and its routing state.
type target struct {
	up        *provider.Upstream // the provider's, or a dedicated one when timeouts are overridden
	model     string             // upstream model name; "": the requested one (upstreamModel)
	name      string             // x-sluice-target
	nameBytes []byte             // name, for the response header
	met       *metrics.Target
	rt        *route.Target
	conf      targetConf // what it was built from, to carry it over a reload
}

// pattern reports whether the model is a name pattern ("claude-*").
func (m *model) pattern() bool { return strings.HasSuffix(m.name, "*") }

// upstreamModel is the model name an attempt at t sends for a request
// that asked for requested: t's own, or, for a pattern model's target
// without one, the requested name.
func (t *target) upstreamModel(requested string) string {
	if t.model != "" {
		return t.model
	}
	return requested
}

// endpoint is a model route of the client API.
type endpoint struct {
	path   string
	op     provider.Operation
	format provider.Format
}

// modelRoutes returns the model routes of every format (wire.Hooks'
// Routes) by path.
func modelRoutes() map[string]*endpoint {
	routes := map[string]*endpoint{}
	for f := provider.Format(1); int(f) < provider.NumFormats; f++ {
		for _, r := range f.Hooks().Routes {
			routes[r.Path] = &endpoint{path: r.Path, op: r.Op, format: f}
		}
	}
	return routes
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
		log:      log,
		met:      met,
		keys:     d.Keys,
		lim:      d.Limits,
		ids:      newRequestIDs(),
		routes:   modelRoutes(),
		tel:      d.Telemetry,
		logStore: d.Logs,
		tracer:   d.Tracer,
	}
	g.adminThrottle = newAdminThrottle(time.Now)
	over, err := newOverload(met)
	if err != nil {
		return nil, fmt.Errorf("gateway: metrics: %w", err)
	}
	g.over = over
	if n := cfg.Server.MaxConnsPerClient; n > 0 {
		g.clients = newClientConns(n)
	}
	s, err := buildSnapshot(cfg, d.ConfigHash, nil, met, log, g.tel != nil, nil)
	if err != nil {
		return nil, err
	}
	g.snap.Store(s)
	if t := cfg.Admin.Token.Reveal(); t != "" {
		g.adminHash = sha256.Sum256([]byte(t))
	}
	g.reload.init(g, d)
	return g, nil
}

// Config returns the config in force (the latest one applied by Reload).
func (g *Gateway) Config() *config.Config { return g.snap.Load().cfg }

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return string(provider.AppendJSONString(nil, s))
}
