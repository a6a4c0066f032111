package gateway

import (
	"time"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/route"
)

// health is what one attempt tells about its target, for the target's
// circuit breaker. The rules, and why, are in docs/routing.md ("What counts
// against a target") and docs/decisions/0003-breaker-failures.md. The rule
// that matters most: nothing a request causes by itself (a 4xx) and nothing
// its client does (leaving: 499) counts, so that one tenant cannot set a
// target aside for everyone.
type health int8

const (
	healthNone   health = iota // says nothing about the target (a half-open probe is given back)
	healthOK                   // the target answered as a working target does
	healthFailed               // counts towards setting the target aside
)

// attemptHealth classifies an attempt: ue when no reply came, else the
// reply's status. otherKey reports whether another of the provider's keys
// can take the next request; it matters for 429 and 401, which refuse one
// provider key, already set aside on its own (keyCooldown429/401).
func attemptHealth(ue *provider.UpstreamError, status int, otherKey bool) health {
	if ue != nil {
		switch ue.Kind {
		case provider.KindNoConns, provider.KindCancelled:
			return healthNone // Sluice shed it (max_conns), or its client left
		}
		return healthFailed // connect, timeout (first byte), reset, malformed reply
	}
	switch {
	case status >= 500:
		return healthFailed
	case status == 429 || status == 401:
		if otherKey {
			return healthNone
		}
		return healthFailed // the provider has no key left to serve anyone
	case status >= 400:
		return healthNone // caused by the request: 400, 403, 404, 413, 422, ...
	}
	return healthOK
}

// recordHealth reports h to the target's breaker.
func recordHealth(rt *route.Target, now time.Time, h health) {
	switch h {
	case healthOK:
		rt.Breaker().Record(now, true)
	case healthFailed:
		rt.Breaker().Record(now, false)
	default:
		rt.Breaker().Release()
	}
}
