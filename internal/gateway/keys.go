package gateway

import (
	"context"
	"encoding/json"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/ratelimit"
)

// authenticate runs pipeline stage 2: the client's key from its headers,
// hashed and looked up in memory. The request path never touches the key
// store. It returns nil, nil when auth is off.
func (g *Gateway) authenticate(ctx *fasthttp.RequestCtx) (*auth.Policy, *HTTPError) {
	if g.keys == nil {
		return nil, nil
	}
	key := clientKey(&ctx.Request.Header)
	if key == nil && isGeminiPath(ctx, ctx.Path()) {
		// Google's API also takes the key as ?key= (never forwarded: a
		// Gemini request's upstream query is Sluice's own).
		key = ctx.QueryArgs().Peek("key")
	}
	pol, st := g.keys.Cache().Authenticate(key)
	if st != auth.StatusOK {
		return nil, &HTTPError{Status: 401, Code: CodeInvalidAPIKey, Msg: st.Message()}
	}
	return pol, nil
}

// allowModel runs the allowlist part of stage 5.
func allowModel(pol *auth.Policy, model string) *HTTPError {
	if pol == nil || pol.Allows(model) {
		return nil
	}
	return &HTTPError{Status: 403, Code: CodeModelNotAllowed, Param: "model",
		Msg: "this API key may not use model " + quote(model) + "; GET /v1/models lists the models it may use"}
}

// serveModels answers GET /v1/models: the models the calling key may use,
// in OpenAI's shape, or Anthropic's for Anthropic clients (clientFormat).
func (g *Gateway) serveModels(ctx *fasthttp.RequestCtx) {
	g.serveLocal(ctx, &modelsRoute, nil, func(s *snapshot, pol *auth.Policy, f provider.Format) ([]byte, *HTTPError) {
		if pol != nil && len(pol.Models) > 0 {
			return s.modelList(pol, f), nil
		}
		return s.modelsJSON[f], nil
	})
}

// keyView is GET /v1/key: the calling key's own policy, never a secret.
type keyView struct {
	ID                  string                     `json:"id"`
	Name                string                     `json:"name"`
	Team                string                     `json:"team"`
	Tags                map[string]string          `json:"tags"`
	Models              []string                   `json:"models"`
	RPM                 int64                      `json:"rpm"`
	TPM                 int64                      `json:"tpm"`
	MaxConcurrent       int64                      `json:"max_concurrent"`
	ModelLimits         map[string]auth.ModelLimit `json:"model_limits"`
	BudgetUSD           float64                    `json:"budget_usd"`
	BudgetPeriod        string                     `json:"budget_period"`
	ExpiresAt           *time.Time                 `json:"expires_at"`
	AllowRoutingHeaders bool                       `json:"allow_routing_headers"`
	Guardrails          []string                   `json:"guardrails"`
	// Priority is normal or high (shed last when Sluice is overloaded).
	Priority string `json:"priority"`
	// Usage and spend now (present when limits are on).
	Usage              *keyUsage  `json:"usage,omitempty"`
	SpendUSD           float64    `json:"spend_usd"`
	RemainingBudgetUSD *float64   `json:"remaining_budget_usd"`
	BudgetResetsAt     *time.Time `json:"budget_resets_at"`
	// TeamID is the key's team ("" for none); TeamLimits that team's
	// limits, usage and remaining budget, shared by its keys (null
	// without a team object).
	TeamID        string             `json:"team_id"`
	EndUserLimits auth.EndUserLimits `json:"end_user_limits"`
	TeamLimits    *teamView          `json:"team_limits"`
}

// teamView is the key's team as GET /v1/key shows it.
type teamView struct {
	ID            string             `json:"id"`
	Name          string             `json:"name"`
	Models        []string           `json:"models"`
	RPM           int64              `json:"rpm"`
	TPM           int64              `json:"tpm"`
	MaxConcurrent int64              `json:"max_concurrent"`
	BudgetUSD     float64            `json:"budget_usd"`
	BudgetPeriod  string             `json:"budget_period"`
	EndUserLimits auth.EndUserLimits `json:"end_user_limits"`
	// Usage and spend now (present when limits are on).
	Usage              *keyUsage  `json:"usage,omitempty"`
	SpendUSD           float64    `json:"spend_usd"`
	RemainingBudgetUSD *float64   `json:"remaining_budget_usd"`
	BudgetResetsAt     *time.Time `json:"budget_resets_at"`
}

// usageView fills the usage and budget fields of a key or team view from
// the limiter's snapshot.
func usageView(sn ratelimit.Snapshot) (u *keyUsage, spend float64, remaining *float64, resets *time.Time) {
	u = &keyUsage{Requests: toWindow(sn.Requests), Tokens: toWindow(sn.Tokens), Shared: sn.Shared}
	if sn.MaxConcurrent > 0 {
		inFlight, maxc := sn.InFlight, sn.MaxConcurrent
		u.InFlight, u.MaxConcurrent = &inFlight, &maxc
	}
	if sn.BudgetUSD > 0 {
		rem := sn.RemainingUSD
		remaining = &rem
		if !sn.ResetsAt.IsZero() {
			t := sn.ResetsAt
			resets = &t
		}
	}
	return u, sn.SpendUSD, remaining, resets
}

// keyUsage is the limiter's view of a key right now. A limit the key does
// not have reads as unlimited: null numbers, not a limit and a remaining of
// 0 (issue #15).
type keyUsage struct {
	Requests      window `json:"requests"`
	Tokens        window `json:"tokens"`
	InFlight      *int64 `json:"in_flight"`      // null: no concurrency limit, so not counted
	MaxConcurrent *int64 `json:"max_concurrent"` // null: no concurrency limit
	Shared        bool   `json:"shared"`         // counted in Redis across instances
}

// window is a request or token limit: null numbers and unlimited true when
// the key has none.
type window struct {
	Limit     *int64  `json:"limit"`
	Remaining *int64  `json:"remaining"`
	Reset     *string `json:"reset"`
	Unlimited bool    `json:"unlimited"`
}

func toWindow(w ratelimit.Window) window {
	if w.Limit <= 0 {
		return window{Unlimited: true}
	}
	limit, remaining, reset := w.Limit, w.Remaining, string(ratelimit.AppendReset(nil, w.Reset))
	return window{Limit: &limit, Remaining: &remaining, Reset: &reset}
}

// serveKey answers GET /v1/key, Sluice's own route (never passed through).
func (g *Gateway) serveKey(ctx *fasthttp.RequestCtx) {
	g.setRequestID(ctx)
	if g.keys == nil {
		writeError(ctx, provider.DefaultFormat, errorf(404, CodeNotFound,
			"GET /v1/key describes the calling virtual key, and virtual keys are not enabled on this gateway"))
		return
	}
	pol, herr := g.authenticate(ctx)
	if herr != nil {
		writeError(ctx, provider.DefaultFormat, herr)
		return
	}
	v := keyView{
		ID: pol.ID, Name: pol.Name, Team: pol.Team, Tags: pol.Tags, Models: pol.Models,
		RPM: pol.RPM, TPM: pol.TPM, MaxConcurrent: pol.MaxConcurrent, ModelLimits: pol.ModelLimits,
		BudgetUSD: pol.BudgetUSD, BudgetPeriod: pol.BudgetPeriod,
		AllowRoutingHeaders: pol.AllowRoutingHeaders, Guardrails: pol.Guardrails,
		TeamID: pol.TeamID, EndUserLimits: pol.EndUsers, Priority: auth.PriorityNormal,
	}
	if pol.HighPriority {
		v.Priority = auth.PriorityHigh
	}
	if tp := pol.TeamPolicy; tp != nil {
		v.TeamLimits = &teamView{ID: tp.ID, Name: tp.Name, Models: tp.Models, RPM: tp.RPM, TPM: tp.TPM,
			MaxConcurrent: tp.MaxConcurrent, BudgetUSD: tp.BudgetUSD, BudgetPeriod: tp.BudgetPeriod,
			EndUserLimits: tp.EndUsers}
		if v.TeamLimits.Models == nil {
			v.TeamLimits.Models = []string{}
		}
	}
	if !pol.ExpiresAt.IsZero() {
		t := pol.ExpiresAt
		v.ExpiresAt = &t
	}
	if v.Tags == nil {
		v.Tags = map[string]string{}
	}
	if v.Models == nil {
		v.Models = []string{}
	}
	if v.ModelLimits == nil {
		v.ModelLimits = map[string]auth.ModelLimit{}
	}
	if v.Guardrails == nil {
		v.Guardrails = []string{}
	}
	if g.lim != nil {
		k := limitKey(pol)
		v.Usage, v.SpendUSD, v.RemainingBudgetUSD, v.BudgetResetsAt = usageView(g.lim.Snapshot(context.Background(), &k))
		if t := v.TeamLimits; t != nil {
			t.Usage, t.SpendUSD, t.RemainingBudgetUSD, t.BudgetResetsAt = usageView(g.lim.SnapshotTeam(context.Background(), &k.Team))
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		writeError(ctx, provider.DefaultFormat, &HTTPError{Status: 500, Code: CodeInternal, Msg: "Sluice could not render the key; retry", Err: err})
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
