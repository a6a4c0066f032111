package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/netip"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/provider"
)

// Log keys of the admin API's authentication lines.
const (
	logKeySource   = "source"
	logKeyPeer     = "peer"
	logKeyMethod   = "method"
	logKeyPath     = "path"
	logKeyReason   = "reason"
	logKeyFailures = "failures"
	logKeyWait     = "retry_in"
)

// clientSource is the address a request is attributed to: failed admin
// authentications and the per-client cap count against it. It is the
// peer's address, or, when the peer is one of
// server.trusted_proxies and sent X-Forwarded-For, the client that header
// names: the rightmost entry that is not itself a trusted proxy (entries
// left of it were written by the client and prove nothing). Loopback
// sources are exempt from both (local tools, and a local load
// balancer that is not listed in trusted_proxies, which would otherwise
// throttle everyone behind it).
func clientSource(ctx *fasthttp.RequestCtx, trusted []config.IPRange) (src, peer netip.Addr, exempt bool) {
	peer, _ = netip.AddrFromSlice(ctx.RemoteIP())
	peer = peer.Unmap()
	src = peer
	if inRanges(trusted, peer) {
		if client, ok := forwardedClient(ctx.Request.Header.PeekAll(fasthttp.HeaderXForwardedFor), trusted); ok {
			src = client
		}
	}
	return src, peer, src.IsLoopback()
}

func inRanges(rs []config.IPRange, a netip.Addr) bool {
	for _, r := range rs {
		if r.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedClient walks X-Forwarded-For values (one or more headers, each
// a comma-separated list) from the right and returns the first address
// that is not a trusted proxy, or the leftmost one when all are. An entry
// that is not an address ends the walk at the last good one; ok is false
// when there is none.
func forwardedClient(values [][]byte, trusted []config.IPRange) (client netip.Addr, ok bool) {
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for len(v) > 0 {
			var entry []byte
			if j := bytes.LastIndexByte(v, ','); j >= 0 {
				entry, v = v[j+1:], v[:j]
			} else {
				entry, v = v, nil
			}
			a, err := netip.ParseAddr(string(bytes.TrimSpace(entry)))
			if err != nil {
				if ap, perr := netip.ParseAddrPort(string(bytes.TrimSpace(entry))); perr == nil {
					a, err = ap.Addr(), nil
				}
			}
			if err != nil {
				return client, ok
			}
			client, ok = a.Unmap(), true
			if !inRanges(trusted, client) {
				return client, true
			}
		}
	}
	return client, ok
}

// checkAdminAuth authenticates an admin API request, throttling sources
// that fail too often. It answers the request itself and returns false
// when it is refused.
func (g *Gateway) checkAdminAuth(ctx *fasthttp.RequestCtx) bool {
	src, peer, exempt := clientSource(ctx, g.Config().Server.TrustedProxies)
	if !exempt {
		if wait := g.adminThrottle.wait(src); wait > 0 {
			secs := int((wait + time.Second - 1) / time.Second)
			ctx.Response.Header.Set("Retry-After", strconv.Itoa(secs))
			ctx.Response.Header.Set("Retry-After-Ms", strconv.FormatInt(wait.Milliseconds(), 10))
			g.met.GatewayError("admin", CodeRateLimitExceeded)
			writeError(ctx, provider.DefaultFormat, errorf(429, CodeRateLimitExceeded,
				"too many failed admin authentications from this address; retry in "+strconv.Itoa(secs)+"s with the right admin token"))
			return false
		}
	}
	reason := g.adminAuthProblem(ctx)
	if reason == "" {
		if !exempt {
			g.adminThrottle.succeed(src)
		}
		return true
	}
	g.met.AdminAuthFailure()
	attrs := []slog.Attr{
		slog.String(logKeySource, src.String()),
		slog.String(logKeyMethod, string(ctx.Method())),
		slog.String(logKeyPath, truncate(string(ctx.Path()), 200)),
		slog.String(logKeyReason, reason),
	}
	if peer != src {
		attrs = append(attrs, slog.String(logKeyPeer, peer.String()))
	}
	if !exempt {
		n, throttled := g.adminThrottle.fail(src)
		attrs = append(attrs, slog.Int(logKeyFailures, n))
		if throttled {
			attrs = append(attrs, slog.Duration(logKeyWait, adminFailWindow))
			g.log.LogAttrs(context.Background(), slog.LevelWarn, "admin authentication failed; too many from this source, refusing it until its window ends", attrs...)
		} else {
			g.log.LogAttrs(context.Background(), slog.LevelWarn, "admin authentication failed", attrs...)
		}
	} else {
		g.log.LogAttrs(context.Background(), slog.LevelWarn, "admin authentication failed", attrs...)
	}
	writeError(ctx, provider.DefaultFormat, errorf(401, CodeInvalidAPIKey,
		"missing or wrong admin token: send Authorization: Bearer <admin token> (admin.token in the config)"))
	return false
}

// adminAuthProblem compares the bearer token with the admin token in
// constant time (over their hashes, so the length leaks nothing either).
// It returns "" when they match, else why not, for the log ("missing" or
// "wrong token"; never anything of the token).
func (g *Gateway) adminAuthProblem(ctx *fasthttp.RequestCtx) string {
	got, ok := bearerSum(ctx)
	if !ok {
		return "missing"
	}
	if subtle.ConstantTimeCompare(got[:], g.adminHash[:]) != 1 {
		return "wrong token"
	}
	return ""
}

// metricsAuthorized reports whether a GET /metrics may be served: always
// when metrics.token is not set, else only with that bearer token
// (constant-time, over hashes).
func (g *Gateway) metricsAuthorized(ctx *fasthttp.RequestCtx) bool {
	tok := g.Config().Metrics.Token.Reveal()
	if tok == "" {
		return true
	}
	got, ok := bearerSum(ctx)
	want := sha256.Sum256([]byte(tok))
	return ok && subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// bearerSum is the SHA-256 of the request's bearer token; ok is false
// when there is none.
func bearerSum(ctx *fasthttp.RequestCtx) (sum [32]byte, ok bool) {
	a := ctx.Request.Header.Peek("Authorization")
	if len(a) <= len(strBearer) || !hasPrefixFold(a, strBearer) {
		return sum, false
	}
	return sha256.Sum256(bytes.TrimSpace(a[len(strBearer):])), true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
