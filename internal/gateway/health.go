package gateway

import (
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/route"
)

// attemptHealth classifies an attempt for its target's circuit breaker: ue
// when no reply came, else the reply's status. otherKey reports whether
// another of the provider's keys can take the next request; it matters for
// 429 and 401, which refuse one provider key, already set aside on its own
// (keyCooldown429/401). The rules, and why, are in docs/routing.md ("What
// counts against a target") and docs/decisions/0003-breaker-failures.md.
// The rule that matters most: nothing a request causes by itself (a 4xx)
// and nothing its client does (leaving: 499) counts, so that one tenant
// cannot set a target aside for everyone.
func attemptHealth(ue *provider.UpstreamError, status int, otherKey bool) route.Health {
	if ue != nil {
		switch ue.Kind {
		case provider.KindNoConns, provider.KindCancelled:
			return route.HealthNone // Sluice shed it (max_conns), or its client left
		}
		return route.HealthFailed // connect, timeout (first byte), reset, malformed reply
	}
	switch {
	case status >= 500:
		return route.HealthFailed
	case status == 429 || status == 401:
		if otherKey {
			return route.HealthNone
		}
		return route.HealthFailed // the provider has no key left to serve anyone
	case status >= 400:
		return route.HealthNone // caused by the request: 400, 403, 404, 413, 422, ...
	}
	return route.HealthOK
}

// noReply names the retry trigger class of an attempt that got no reply.
func noReply(kind string) route.Failure {
	switch kind {
	case provider.KindTimeout:
		return route.FailTimeout
	case provider.KindNoConns:
		return route.FailShed // our own limit: another try would hit it too
	}
	return route.FailConnect
}
