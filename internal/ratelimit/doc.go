// Package ratelimit enforces Sluice's rate limits, concurrency limits and
// budgets: requests and tokens per minute per key, per key and model, per
// team (shared by its keys), per end user (the request's user, under a key
// or a team) and per provider target; requests in flight per key and per
// team; spend per key, team and end user per UTC day, month or in total.
//
// # Semantics
//
// Rates use GCRA with a burst equal to the limit, starting full: N + k
// requests at once on a fresh limit of N get exactly k refusals, and a
// limit refills continuously at N per minute. Token limits reserve an
// estimate before the request goes upstream (prompt estimate plus
// max_tokens, or limits.default_max_tokens), never more than the limit
// itself, and reconcile it to the reported usage when the request ends:
// concurrent requests cannot overshoot a token limit by more than one
// reservation's error, and a small limit still admits its first request.
// Concurrency limits refuse at once, never queue. Budgets are checked
// before a request is sent (refused when spend ≥ budget) and charged after
// it, from its usage and the price table.
//
// # API
//
// The gateway owns one Ticket per request (zero value, no allocation):
// Admit (stage 3: key rpm and concurrency), Reserve (stage 5: tokens,
// per-model limits, budget), AdmitTarget (stage 7: provider limits), then
// Settle or Release exactly once on every exit path (stage 9; further
// calls do nothing). Each admission returns a Decision that says which
// limit refused and how long to wait; the Ticket's Requests and Tokens
// windows feed the x-ratelimit-* headers. Snapshot serves GET /v1/key.
//
// # Backends
//
// In memory (the default): scopes are hashed onto 64 locked shards; a
// decision locks the shards of its scopes at once, allocates nothing for
// known scopes, and Settle locks them once more, together; idle scopes
// (full buckets, nothing held; for an end user, no spend within
// limits.end_users.idle_ttl) are swept. An end user's spend lives in its
// scope's entry; a key's and a team's in a spend book. With Redis
// (limits.redis.url), every admission is one Lua script call, one round
// trip, decided with the Redis server's clock; buckets expire when they
// are full again. Settlements are written in pipelined batches off the
// request path.
//
// # Failure
//
// A Redis call is bounded by limits.redis.timeout. After 3 failures in a
// row a breaker opens: decisions follow limits.redis.fail_mode without
// asking Redis — local (per-instance memory limits), open (admit) or
// closed (refuse with ReasonUnavailable: 503) — and every such decision
// is counted in sluice_ratelimit_fallback_total. A probe pings Redis every
// 250ms and closes the breaker when it answers; each change is logged.
// Settlements that could not be written wait (up to 100,000) and are
// written when Redis is back; concurrency slots held in Redis carry a
// 15-minute lease, so an instance that dies leaks none for longer.
//
// Spend is kept per key in memory and, with a SpendStore (the key
// service), written to it every 5 s and reloaded from it (so that it
// survives restarts and instances see each other's spend); with Redis,
// budgets are checked against the shared counter in Redis.
package ratelimit
