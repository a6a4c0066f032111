// Package route decides where a request goes and whether a failed attempt
// is tried again: target selection strategies (weighted, least-busy,
// latency), a circuit breaker per target (cooldown after consecutive
// failures or a high error rate, then one probe), a gateway-wide retry
// budget, and backoff with jitter that honours the upstream's Retry-After.
//
// It holds no I/O: the gateway sends and reports outcomes back. Time comes
// from an injectable clock so cooldowns and backoff are tested exactly.
// Selection is allocation-free; every method is safe for concurrent use.
package route
