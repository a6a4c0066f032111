// Package route decides where a request goes and whether a failed attempt
// is tried again. Resolve maps a requested model name to a public model, a
// provider's ("provider/model") or a pattern's ("claude-*"). A Plan, one
// per request, walks a model's Pool (its targets in one wire format, its
// retry policy, its fallbacks' pools): it picks targets with a strategy
// (weighted, least-busy, latency), retries a target with jittered backoff
// or the upstream's Retry-After within a gateway-wide retry Budget and the
// target's total timeout, then moves on to the next target and the
// fallback models. A circuit Breaker per target sets it
// aside after consecutive failures or a high error rate (a cooldown, then
// one probe).
//
// It holds no I/O: the gateway sends each attempt and reports its outcome
// to the plan. Time comes from an injectable Clock, so cooldowns and
// backoff are tested exactly and no test waits for them. Selection and
// plans allocate nothing; everything but a Plan (one request's) is safe
// for concurrent use.
//
// How it fails: a Plan's Next returns nil when nothing more may be tried
// (every target and fallback spent or set aside, the retry budget spent, a
// wait that would outlast the total timeout); the caller answers with the
// last failure. Force reports false for a forced target that is unknown or,
// forced by provider, cooling down.
package route
