package gateway

import (
	"errors"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/ratelimit"
)

// The key service keeps spend for the limiter's budgets.
var _ ratelimit.SpendStore = (*auth.Service)(nil)

// limitState is what the exchange holds of the limits (stages 3, 5 and
// 7's target limits), settled by settleLimits.
type limitState struct {
	ticket     ratelimit.Ticket   // limits held by this request
	limited    bool               // the ticket holds something to settle
	reserved   int64              // tokens reserved (estimate)
	retryAfter ratelimit.Decision // the refusal, for Retry-After
	// limitModel is the name the key's per-model limits and the price
	// go by: the requested model, or the pattern that matched it.
	limitModel string
	// promptEst is the prompt's estimated tokens (stage 5); failedPrompt
	// sums it over the attempts that failed after the upstream may have
	// run the request, which providers bill (billFailed).
	promptEst, failedPrompt int64
}

func (l *limitState) reset() {
	l.ticket.Reset()
	l.limited, l.reserved, l.retryAfter = false, 0, ratelimit.Decision{}
	l.limitModel = ""
	l.promptEst, l.failedPrompt = 0, 0
}

// billFailed records an attempt that failed after the upstream may have
// run the request — it timed out waiting for the reply (not for the
// connection), or replied with something Sluice could not read — since
// providers bill those: its prompt estimate is charged at settle with the
// exchange's own usage, and the log row says the tokens are estimated.
// Refusals, connect failures and error statuses are not billed.
func (x *exchange) billFailed(ue *provider.UpstreamError) {
	switch {
	case ue.Kind == provider.KindMalformed:
	case ue.Kind == provider.KindTimeout && !errors.Is(ue.Err, fasthttp.ErrDialTimeout):
	default:
		return
	}
	x.failedPrompt += x.promptEst
}

// billedUsage is the usage the exchange is charged: the upstream's
// reported usage (for a cut stream, at least the tokens received so far)
// plus the prompts of failed attempts it was billed for.
func (x *exchange) billedUsage() ratelimit.Usage {
	u := x.reportedUsage()
	if x.cutStream() {
		u.Output = max(u.Output, x.streamedOutput())
	}
	u.Input += x.failedPrompt
	return u
}

// cutStream reports a stream that began and did not reach its end: the
// client left, or the upstream broke off.
func (x *exchange) cutStream() bool { return x.stream && !x.sawTerminal && x.deltas > 0 }

// streamedOutput estimates the output tokens a cut stream received: one
// per event that carried output (the translated path counts deltas
// exactly; the same-format path every event but the first, which opens
// the reply). Providers bill what they generated, at least this.
func (x *exchange) streamedOutput() int64 {
	if x.translated() {
		return x.deltas
	}
	return max(x.deltas-1, 0)
}

// limitKey is the limiter's view of a key policy and its team.
func limitKey(pol *auth.Policy) ratelimit.Key {
	k := ratelimit.Key{ID: pol.ID, RPM: pol.RPM, TPM: pol.TPM, MaxConcurrent: pol.MaxConcurrent,
		BudgetUSD: pol.BudgetUSD, BudgetPeriod: pol.BudgetPeriod, EndUsers: endUserLimits(pol.EndUsers)}
	if tp := pol.TeamPolicy; tp != nil {
		k.Team = limitTeam(tp)
	}
	return k
}

// limitTeam is the limiter's view of a team policy.
func limitTeam(tp *auth.TeamPolicy) ratelimit.Team {
	return ratelimit.Team{ID: tp.ID, SpendID: tp.SpendID, RPM: tp.RPM, TPM: tp.TPM, MaxConcurrent: tp.MaxConcurrent,
		BudgetUSD: tp.BudgetUSD, BudgetPeriod: tp.BudgetPeriod, EndUsers: endUserLimits(tp.EndUsers)}
}

func endUserLimits(e auth.EndUserLimits) ratelimit.EndUserLimits {
	return ratelimit.EndUserLimits{RPM: e.RPM, TPM: e.TPM, BudgetUSD: e.BudgetUSD, BudgetPeriod: e.BudgetPeriod}
}

// admitRequest is stage 3: the key's request rate and a concurrency slot.
func (x *exchange) admitRequest() *HTTPError {
	g := x.g
	if g.lim == nil || x.pol == nil {
		return nil
	}
	k := limitKey(x.pol)
	x.limited = true
	if d := g.lim.Admit(&x.ticket, &k); !d.Allowed {
		return x.refusal(&d)
	}
	return nil
}

// reserveTokens is stage 5: the token rates of the key, the key's model
// and the team, with an estimate reconciled at settle; the end user's
// limits (user is the request's user field); and the budgets of the key,
// the team and the end user, which hold the estimate's cost until settle.
func (x *exchange) reserveTokens(model, user string, bodyLen int, maxTokens int64) *HTTPError {
	g := x.g
	if g.lim == nil || x.pol == nil {
		return nil
	}
	x.ticket.SetEndUser(user)
	ml := x.pol.ModelLimits[model]
	est := g.lim.EstimateTokens(bodyLen, maxTokens)
	x.reserved, x.promptEst = est.Total(), est.Input
	if d := g.lim.ReserveTokens(&x.ticket, model, ratelimit.ModelLimit{RPM: ml.RPM, TPM: ml.TPM}, est); !d.Allowed {
		return x.refusal(&d)
	}
	return nil
}

// admitTarget checks a provider target's own limits before an attempt
// that sends model upstream.
func (x *exchange) admitTarget(tgt *target, model string) *HTTPError {
	g := x.g
	if g.lim == nil {
		return nil
	}
	if x.reserved == 0 {
		x.reserved = g.lim.Estimate(0, 0)
	}
	x.limited = true
	if d := g.lim.AdmitTarget(&x.ticket, tgt.up.Name(), model, x.reserved); !d.Allowed {
		return x.refusal(&d)
	}
	return nil
}

// refusal maps a limiter refusal to the contract's error and headers.
func (x *exchange) refusal(d *ratelimit.Decision) *HTTPError {
	e := &HTTPError{Status: 429, Code: CodeRateLimitExceeded, Msg: d.Message()}
	switch d.Reason {
	case ratelimit.ReasonBudget:
		e.Code = CodeInsufficientQuota
	case ratelimit.ReasonUnavailable:
		e.Status, e.Code = 503, CodeOverloaded
	}
	x.retryAfter = *d
	return e
}

// settleLimits is stage 9's part for limits: reconcile the token
// reservation to actual usage (or keep it when the upstream reported none
// for a reply that was served), charge spend, release the slot. It runs on
// every exit path; only the first call counts.
func (x *exchange) settleLimits() {
	if !x.limited {
		return
	}
	switch {
	case x.usage.Valid:
		x.ticket.Settle(x.billedUsage())
	case x.cutStream():
		// Cut without usage: the prompt estimate and the tokens received.
		x.ticket.Settle(ratelimit.Usage{Input: x.promptEst + x.failedPrompt, Output: x.streamedOutput()})
	case x.attempts > 0 && x.status > 0 && x.status < 400 || x.status == 499:
		// Served (or cut) without usage: keep the estimate as charged.
		x.ticket.Settle(ratelimit.Usage{Input: x.ticket.Reserved() + x.failedPrompt})
	case x.failedPrompt > 0:
		x.ticket.Settle(ratelimit.Usage{Input: x.failedPrompt})
	default:
		x.ticket.Release()
	}
}

// The ratelimit.Header* names in canonical form, for SetCanonical.
var (
	hdrLimitRequests     = []byte("X-Ratelimit-Limit-Requests")
	hdrRemainingRequests = []byte("X-Ratelimit-Remaining-Requests")
	hdrResetRequests     = []byte("X-Ratelimit-Reset-Requests")
	hdrLimitTokens       = []byte("X-Ratelimit-Limit-Tokens")
	hdrRemainingTokens   = []byte("X-Ratelimit-Remaining-Tokens")
	hdrResetTokens       = []byte("X-Ratelimit-Reset-Tokens")
	hdrRetryAfter        = []byte(ratelimit.HeaderRetryAfter)
	hdrRetryAfterMs      = []byte(ratelimit.HeaderRetryAfterMs)
)

// setLimitHeaders writes the x-ratelimit-* headers for the limits the key
// has, and Retry-After(-Ms) on a refusal.
func (x *exchange) setLimitHeaders(h *fasthttp.ResponseHeader) {
	if !x.limited || x.pol == nil {
		return
	}
	var buf [32]byte
	if w := x.ticket.Requests(); w.Limit > 0 {
		h.SetCanonical(hdrLimitRequests, strconv.AppendInt(buf[:0], w.Limit, 10))
		h.SetCanonical(hdrRemainingRequests, strconv.AppendInt(buf[:0], w.Remaining, 10))
		h.SetCanonical(hdrResetRequests, ratelimit.AppendReset(buf[:0], w.Reset))
	}
	if w := x.ticket.Tokens(); w.Limit > 0 {
		h.SetCanonical(hdrLimitTokens, strconv.AppendInt(buf[:0], w.Limit, 10))
		h.SetCanonical(hdrRemainingTokens, strconv.AppendInt(buf[:0], w.Remaining, 10))
		h.SetCanonical(hdrResetTokens, ratelimit.AppendReset(buf[:0], w.Reset))
	}
	if d := &x.retryAfter; !d.Allowed && d.Reason != ratelimit.ReasonNone && d.RetryAfter > 0 {
		h.SetCanonical(hdrRetryAfter, strconv.AppendInt(buf[:0], d.RetryAfterSeconds(), 10))
		h.SetCanonical(hdrRetryAfterMs, strconv.AppendInt(buf[:0], d.RetryAfterMillis(), 10))
	}
}
