package gateway

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/route"
)

// GET /v1/models and GET /v1/models/{id} are Sluice's own: they answer from
// the gateway's model table, in the caller's shape, and never reach an
// upstream (passed through, an Anthropic client's call reached the OpenAI
// provider with that provider's key, and any id answered 200; issue #15).

var strModelsSlash = []byte("/v1/models/")

// modelsRoute names both models routes in metrics and request logs; the
// requested id is logged as the model.
var modelsRoute = endpoint{path: "/v1/models"}

// clientFormat is the caller's format on a path the clients of every
// format call: the first whose Caller hook claims the request (Anthropic's
// SDKs send anthropic-version and x-api-key), else the default, OpenAI's.
func clientFormat(h *fasthttp.RequestHeader) provider.Format {
	for f := provider.Format(1); int(f) < provider.NumFormats; f++ {
		if c := f.Hooks().Caller; c != nil && c(h) {
			return f
		}
	}
	return provider.DefaultFormat
}

// serveLocal runs the entry every client route takes (request id, auth,
// request limits; settle on the way out) for a route Sluice answers itself.
// answer renders the reply body for the caller's key and format, or
// refuses; model is what the request log records as the requested model.
func (g *Gateway) serveLocal(ctx *fasthttp.RequestCtx, ep *endpoint, model []byte,
	answer func(s *snapshot, pol *auth.Policy, f provider.Format) ([]byte, *HTTPError)) {
	x := g.acquireExchange(ep)
	x.format = clientFormat(&ctx.Request.Header)
	if bytes.HasPrefix(ctx.Path(), strV1Beta) {
		x.format = provider.FormatGemini // Google's SDKs may send the key as ?key=
	}
	defer x.finish(ctx)
	x.model = append(x.model, model...)
	if !x.enter(ctx) {
		return
	}
	body, herr := answer(x.s, x.pol, x.format)
	if herr != nil {
		x.fail(ctx, herr)
		return
	}
	x.status = fasthttp.StatusOK
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
	x.setLimitHeaders(&ctx.Response.Header)
	if x.s.logBodies == logFull {
		x.keepBody(&x.logResp, body)
	}
}

// serveModelInfo answers GET /v1/models/{id}. The id is everything after
// /v1/models/, decoded, so "openai/gpt-4o-mini" may arrive with its slash
// plain or as %2F (Anthropic's SDK escapes it).
func (g *Gateway) serveModelInfo(ctx *fasthttp.RequestCtx) {
	g.serveModelID(ctx, ctx.Path()[len(strModelsSlash):])
}

// serveModelID answers GET of the model id under a models path.
func (g *Gateway) serveModelID(ctx *fasthttp.RequestCtx, id []byte) {
	g.serveLocal(ctx, &modelsRoute, id, func(s *snapshot, pol *auth.Policy, f provider.Format) ([]byte, *HTTPError) {
		name := string(id)
		owner, ok := s.findModel(pol, name)
		if !ok {
			return nil, modelNotFound(pol, name)
		}
		return f.Hooks().AppendModel(nil, wire.Model{ID: name, Owner: owner, Created: s.modelsCreated}), nil
	})
}

// findModel resolves id as a request's model resolves (an exact public
// name first, then "provider/model" for a configured provider, then the
// longest pattern prefix) and reports the provider that serves it: a
// public or pattern model's first target's, as GET /v1/models lists it. A
// "provider/model" name or one a pattern matches is answered without
// asking the provider whether it has that model: the gateway would forward
// a request for it, so it exists here (no target is created for it). pol
// (nil: auth off) must allow the requested name, as it must for a request.
func (s *snapshot) findModel(pol *auth.Policy, id string) (owner string, ok bool) {
	if pol != nil && !pol.Allows(id) {
		return "", false
	}
	m, up, ok := route.Resolve(id, s.models, s.ups, s.patterns)
	switch {
	case !ok:
		return "", false
	case m != nil:
		return m.owner, true
	}
	return up.Name(), true
}

// modelNotFound is the 404 for a model that does not exist or that the key
// may not use. Both read the same (only the key decides the wording), so a
// key cannot probe for models outside its allowlist; the list it may use
// is one GET away.
func modelNotFound(pol *auth.Policy, id string) *HTTPError {
	msg := "model " + quote(id) + " does not exist on this gateway; GET /v1/models lists the models you can use"
	if pol != nil && len(pol.Models) > 0 {
		msg = "model " + quote(id) + " does not exist on this gateway or this API key may not use it; GET /v1/models lists the models it may use"
	}
	return &HTTPError{Status: 404, Code: CodeModelNotFound, Param: "model", Msg: msg}
}
