package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/metrics"
	"github.com/sluice-gw/sluice/internal/pricing"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/ratelimit"
)

// Reload results, as POST /admin/v1/reload and sluice_config_reloads_total
// name them.
const (
	ReloadApplied   = "applied"
	ReloadUnchanged = "unchanged"
	ReloadRejected  = "rejected"
)

// ReloadResult is the outcome of one reload.
type ReloadResult struct {
	// Result is applied, unchanged or rejected.
	Result string
	// Changed lists the settings that took effect (YAML paths).
	Changed []string
	// NeedsRestart lists the settings that differ from the running ones but
	// apply only after a restart; the running values stay in force.
	NeedsRestart []string
	// Errors are the problems of a rejected config, one per line in the
	// config's usual FILE:LINE:COL: PATH: message form.
	Errors []string
}

// MarshalJSON writes the admin API's shape: {result, changed,
// needs_restart} (lists never null) or, rejected, {result, errors}.
func (r ReloadResult) MarshalJSON() ([]byte, error) {
	nonNil := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	if r.Result == ReloadRejected {
		return json.Marshal(struct {
			Result string   `json:"result"`
			Errors []string `json:"errors"`
		}{r.Result, nonNil(r.Errors)})
	}
	return json.Marshal(struct {
		Result       string   `json:"result"`
		Changed      []string `json:"changed"`
		NeedsRestart []string `json:"needs_restart"`
	}{r.Result, nonNil(r.Changed), nonNil(r.NeedsRestart)})
}

// reloader serializes reloads and owns their metrics.
type reloader struct {
	g     *Gateway
	load  func() (*config.Config, string, error)
	level *slog.LevelVar

	mu      sync.Mutex // one reload at a time
	results *prometheus.CounterVec
	info    *prometheus.GaugeVec
}

func (r *reloader) init(g *Gateway, d Deps) {
	r.g, r.load, r.level = g, d.LoadConfig, d.LogLevel
	reg := g.met.Prometheus()
	var err error
	r.results = metrics.RegisterTo(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_config_reloads_total",
		Help: "Config reloads (SIGHUP, POST /admin/v1/reload, file watch) by result: applied, unchanged, rejected.",
	}, []string{"result"}), &err)
	r.info = metrics.RegisterTo(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sluice_config_info",
		Help: "1 for the config in force, labelled with the SHA-256 (first 16 hex digits) of its file.",
	}, []string{"hash"}), &err)
	if err != nil {
		// Only a name clash with another collector of this registry can
		// fail; the gateway works without these two series.
		g.log.Warn("config reload metrics not registered", slog.String("error", err.Error()))
		r.results, r.info = nil, nil
		return
	}
	for _, res := range []string{ReloadApplied, ReloadUnchanged, ReloadRejected} {
		r.results.WithLabelValues(res)
	}
	r.info.WithLabelValues(g.snap.Load().hash).Set(1)
}

// Reload reads the config file again and applies it: the new config is
// validated in full and every part of it prepared before anything changes,
// then the limiter settings, the static keys and the gateway's snapshot are
// swapped. An invalid file changes nothing. Settings that need a restart
// are reported and keep their running values. Safe for concurrent use:
// reloads run one at a time.
func (g *Gateway) Reload(ctx context.Context) ReloadResult {
	r := &g.reload
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.run()
	if r.results != nil {
		r.results.WithLabelValues(res.Result).Inc()
	}
	attrs := []any{slog.String("result", res.Result)}
	if len(res.Changed) > 0 {
		attrs = append(attrs, slog.String("changed", strings.Join(res.Changed, ",")))
	}
	if len(res.NeedsRestart) > 0 {
		attrs = append(attrs, slog.String("needs_restart", strings.Join(res.NeedsRestart, ",")))
	}
	switch res.Result {
	case ReloadRejected:
		for _, e := range res.Errors {
			g.log.ErrorContext(ctx, "config reload rejected: "+e)
		}
		g.log.WarnContext(ctx, "config reload rejected; the running config stays in force", attrs...)
	default:
		g.log.InfoContext(ctx, "config reloaded", attrs...)
	}
	return res
}

func (r *reloader) run() ReloadResult {
	g := r.g
	if r.load == nil {
		return ReloadResult{Result: ReloadRejected, Errors: []string{"this gateway was not started from a config file; there is nothing to reload"}}
	}
	next, hash, err := r.load()
	if err != nil {
		return rejected(err)
	}
	old := g.snap.Load()
	ch := config.Reconcile(old.cfg, next)
	// Settings whose feature this process did not start, or that hang on a
	// restart-only switch, wait for the restart too: applying static keys
	// while auth.enabled keeps its running value would leave the keys and
	// the switch disagreeing (turning auth off empties auth.keys).
	if g.keys == nil || ch.Restarting("auth.enabled") {
		ch.Hold(old.cfg, next, "auth.keys")
		ch.Hold(old.cfg, next, "auth.teams")
	}
	if g.tel == nil || ch.Restarting("telemetry.enabled") {
		ch.Hold(old.cfg, next, "telemetry.log_bodies")
		ch.Hold(old.cfg, next, "telemetry.max_body_bytes")
	}
	if g.lim == nil {
		ch.Hold(old.cfg, next, "limits.defaults")
		ch.Hold(old.cfg, next, "limits.default_max_tokens")
	}
	// One price table for the limiter's budgets and the gateway's costs.
	prices, err := pricing.New(next.Pricing)
	if err != nil {
		return rejected(fmt.Errorf("gateway: %w", err))
	}
	limits, err := ratelimit.NewSettingsPriced(next, prices)
	if err != nil {
		return rejected(err)
	}
	if g.lim == nil && limits.LimitsTargets() {
		// No limiter was started (no keys, no provider limits): starting
		// one is a restart.
		ch.NeedsRestart = append(ch.NeedsRestart, "providers[].limits")
	}
	if ch.Empty() && hash == old.hash {
		return ReloadResult{Result: ReloadUnchanged}
	}

	// Prepare everything; nothing changes until all of it succeeded.
	var static *auth.StaticKeys
	var teams *auth.StaticTeams
	if g.keys != nil {
		if static, err = g.keys.PrepareStatic(next.Auth.Keys); err != nil {
			return rejected(err)
		}
		if teams, err = g.keys.PrepareStaticTeams(next.Auth.Teams); err != nil {
			return rejected(err)
		}
	}
	snap, err := buildSnapshot(next, hash, old, g.met, g.log, g.tel != nil, prices)
	if err != nil {
		return rejected(err)
	}

	// Apply: limits first, so that a key's new limits meet new defaults;
	// then teams and keys; then the snapshot the next request loads.
	if g.lim != nil {
		g.lim.Use(limits)
	}
	if teams != nil {
		g.keys.SetStaticTeams(teams) // before the keys, which may name new teams
	}
	if static != nil {
		g.keys.SetStatic(static)
	}
	g.snap.Store(snap)
	if r.level != nil {
		r.level.Set(LogLevel(next.Log.Level))
	}
	if r.info != nil && hash != old.hash {
		r.info.DeleteLabelValues(old.hash)
		r.info.WithLabelValues(hash).Set(1)
	}
	res := ReloadResult{Result: ReloadApplied, Changed: ch.Changed, NeedsRestart: ch.NeedsRestart}
	if len(ch.Changed) == 0 {
		res.Result = ReloadUnchanged // the file changed, but not in anything that applies now
	}
	return res
}

// rejected turns a load or build error into a rejected result, one line
// per problem.
func rejected(err error) ReloadResult {
	var errs config.Errors
	if errors.As(err, &errs) {
		out := make([]string, len(errs))
		for i, e := range errs {
			out[i] = e.Error()
		}
		return ReloadResult{Result: ReloadRejected, Errors: out}
	}
	return ReloadResult{Result: ReloadRejected, Errors: []string{err.Error()}}
}

// LogLevel maps log.level to a slog level (info for anything unknown,
// which validation has refused already).
func LogLevel(s string) slog.Level {
	switch s {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// WatchConfig reloads whenever the content of the config file changes,
// checking every interval while server.watch_config is on in the config in
// force, until ctx ends. Content, not modification time, decides: editors
// that replace the file and Kubernetes ConfigMap symlink swaps are both
// seen, and touching the file does nothing.
func (g *Gateway) WatchConfig(ctx context.Context, interval time.Duration, hashFile func() (string, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	tried := "" // content the watch saw rejected, not to be tried again
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := g.snap.Load()
		if !s.cfg.Server.WatchConfig {
			continue
		}
		h, err := hashFile()
		if err != nil {
			if !failing {
				g.log.Warn("config watch: cannot read the config file; the running config stays in force", slog.String("error", err.Error()))
			}
			failing = true
			continue
		}
		failing = false
		if h == s.hash {
			tried = ""
			continue
		}
		if h == tried {
			continue // rejected already: wait for the next edit
		}
		if g.Reload(ctx).Result == ReloadRejected {
			tried = h
		} else {
			tried = ""
		}
	}
}

// adminReload answers POST /admin/v1/reload: 200 with the result when the
// config was applied or unchanged, 422 when it was rejected.
func (g *Gateway) adminReload(ctx *fasthttp.RequestCtx, method string) {
	if method != "POST" {
		ctx.Response.Header.Set("Allow", "POST")
		writeError(ctx, provider.DefaultFormat, errorf(405, CodeMethodNotAllowed, adminPrefix+"reload takes POST"))
		return
	}
	res := g.Reload(context.Background())
	status := 200
	if res.Result == ReloadRejected {
		status = 422
	}
	g.adminJSON(ctx, status, res)
}
