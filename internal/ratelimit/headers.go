package ratelimit

import (
	"strconv"
	"time"
)

// Response header names (DESIGN.md, Rate-limit semantics).
const (
	HeaderLimitRequests     = "x-ratelimit-limit-requests"
	HeaderLimitTokens       = "x-ratelimit-limit-tokens"
	HeaderRemainingRequests = "x-ratelimit-remaining-requests"
	HeaderRemainingTokens   = "x-ratelimit-remaining-tokens"
	HeaderResetRequests     = "x-ratelimit-reset-requests"
	HeaderResetTokens       = "x-ratelimit-reset-tokens"
	HeaderRetryAfter        = "Retry-After"
	HeaderRetryAfterMs      = "Retry-After-Ms"
)

// RetryAfterSeconds is the Retry-After value: whole seconds, rounded up;
// 0 when waiting will not help (send no Retry-After then).
func (d *Decision) RetryAfterSeconds() int64 {
	return int64((d.RetryAfter + time.Second - 1) / time.Second)
}

// RetryAfterMillis is the Retry-After-Ms value: milliseconds, rounded up.
func (d *Decision) RetryAfterMillis() int64 {
	return int64((d.RetryAfter + time.Millisecond - 1) / time.Millisecond)
}

// AppendReset appends a reset duration as the x-ratelimit-reset-* headers
// carry it, in Go's duration format ("6m0s", "1s", "250ms"): rounded up to
// the millisecond below one second, to the second above. It does not
// allocate when dst has room.
func AppendReset(dst []byte, d time.Duration) []byte {
	switch {
	case d <= 0:
		return append(dst, "0s"...)
	case d < time.Second:
		ms := (d + time.Millisecond - 1) / time.Millisecond
		if ms < 1000 {
			dst = strconv.AppendInt(dst, int64(ms), 10)
			return append(dst, "ms"...)
		}
		d = time.Second
	}
	s := int64((d + time.Second - 1) / time.Second)
	h, m := s/3600, s/60%60
	s %= 60
	if h > 0 {
		dst = strconv.AppendInt(dst, h, 10)
		dst = append(dst, 'h')
	}
	if h > 0 || m > 0 {
		dst = strconv.AppendInt(dst, m, 10)
		dst = append(dst, 'm')
	}
	dst = strconv.AppendInt(dst, s, 10)
	return append(dst, 's')
}

// Message is the client-facing message of a refusal: it names the limit
// (rpm, tpm, concurrency) or the budget and its reset time, and says what
// to do. It never contains a secret. "" for an admitted request.
func (d *Decision) Message() string {
	if d.Allowed {
		return ""
	}
	var whose string
	switch d.Scope {
	case ScopeKeyModel:
		whose = "this key's limit for model " + strconv.Quote(d.Model)
	case ScopeTarget:
		whose = "the shared limit of upstream " + strconv.Quote(d.Provider+"/"+d.Model)
	case ScopeTeam:
		whose = "the limit of team " + strconv.Quote(d.Team) + " (shared by its keys)"
	case ScopeEndUser:
		if d.Team != "" {
			whose = "the limit of each end user of team " + strconv.Quote(d.Team)
		} else {
			whose = "this key's limit for each end user"
		}
	default:
		whose = "this key's limit"
	}
	wait := ""
	if d.RetryAfter > 0 {
		wait = " Retry after " + string(AppendReset(nil, d.RetryAfter)) + "."
	}
	n := strconv.FormatInt(d.Limit, 10)
	switch d.Reason {
	case ReasonRPM:
		return "Rate limit reached (rpm): " + whose + " is " + n + " requests per minute." + wait
	case ReasonTPM:
		return "Rate limit reached (tpm): " + whose + " is " + n + " tokens per minute, and this request reserves " +
			strconv.FormatInt(d.Tokens, 10) + " (its prompt and max_tokens)." + wait +
			" A lower max_tokens needs less."
	case ReasonConcurrency:
		return "Rate limit reached (concurrency): " + whose + " is " + n +
			" requests in flight (max_concurrent). Retry when one of them has finished."
	case ReasonBudget:
		who := "this key"
		switch {
		case d.Scope == ScopeTeam:
			who = "team " + strconv.Quote(d.Team)
		case d.Scope == ScopeEndUser && d.Team != "":
			who = "this end user (under team " + strconv.Quote(d.Team) + "'s end-user budget)"
		case d.Scope == ScopeEndUser:
			who = "this end user (under this key's end-user budget)"
		}
		msg := "Budget exhausted: " + who + " has spent $" + strconv.FormatFloat(d.SpendUSD, 'f', 2, 64) +
			" of its $" + strconv.FormatFloat(d.BudgetUSD, 'f', 2, 64)
		if d.HeldUSD > 0 || d.EstimateUSD > 0 {
			msg = "Budget would be exceeded: " + who + " has spent $" + strconv.FormatFloat(d.SpendUSD, 'f', 4, 64) +
				" of its $" + strconv.FormatFloat(d.BudgetUSD, 'f', 2, 64) + ", requests in flight may cost $" +
				strconv.FormatFloat(d.HeldUSD, 'f', 4, 64) + " and this one up to $" +
				strconv.FormatFloat(d.EstimateUSD, 'f', 4, 64) + " (its prompt and max_tokens; a lower max_tokens needs less)."
			if d.ResetAt.IsZero() {
				return msg + " The budget is total."
			}
			return msg + " The budget resets at " + d.ResetAt.UTC().Format(time.RFC3339) + "."
		}
		if d.ResetAt.IsZero() {
			return msg + " total budget. Ask your platform team to raise it."
		}
		per := "monthly"
		if d.Period == "day" {
			per = "daily"
		}
		return msg + " " + per + " budget; it resets at " + d.ResetAt.UTC().Format(time.RFC3339) + "."
	case ReasonUnavailable:
		return "Rate limits cannot be checked right now (their store is unreachable). Retry shortly."
	}
	return "Request refused by a limit."
}
