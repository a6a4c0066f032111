package gateway

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/gemini"
)

// Gemini's client routes name the model in the path
// (/v1beta/models/{model}:generateContent, and the same under /v1, which
// Google's SDKs call by default), so they are not in the routes table:
// the handler sends POSTs of that shape here.

var (
	strV1Beta      = []byte("/v1beta/")
	strV1BetaModel = []byte("/v1beta/models/")
)

// The Gemini endpoints, by action (their paths are templates: metrics and
// logs name the route, not the model).
var (
	geminiGenerate = endpoint{path: "/v1beta/models/{model}:generateContent", op: provider.OpGenerate, format: provider.FormatGemini}
	geminiStream   = endpoint{path: "/v1beta/models/{model}:streamGenerateContent", op: provider.OpGenerate, format: provider.FormatGemini}
	geminiEmbed    = endpoint{path: "/v1beta/models/{model}:embedContent", op: provider.OpEmbedContent, format: provider.FormatGemini}
	geminiBatch    = endpoint{path: "/v1beta/models/{model}:batchEmbedContents", op: provider.OpEmbedContent, format: provider.FormatGemini}
)

// geminiRoute returns the endpoint of a Gemini client path, nil for a path
// that is not one (or an action Sluice does not serve: the caller answers
// 404 in Gemini's format).
func geminiRoute(path []byte) *endpoint {
	_, action, ok := gemini.ParsePath(path)
	if !ok {
		return nil
	}
	switch action {
	case gemini.ActionGenerate:
		return &geminiGenerate
	case gemini.ActionStreamGenerate:
		return &geminiStream
	case gemini.ActionEmbed:
		return &geminiEmbed
	case gemini.ActionBatchEmbed:
		return &geminiBatch
	}
	return nil
}

// isGeminiPath reports whether a path is Gemini's: under /v1beta/, or a
// POST to /v1/models/{model}:{action}.
func isGeminiPath(ctx *fasthttp.RequestCtx, path []byte) bool {
	if bytes.HasPrefix(path, strV1Beta) {
		return true
	}
	return bytes.HasPrefix(path, strModelsSlash) && bytes.IndexByte(path[len(strModelsSlash):], ':') > 0 &&
		bytes.Equal(ctx.Method(), strPOST)
}

var strV1BetaModels = []byte("/v1beta/models")

// serveGemini serves a Gemini client path.
func (g *Gateway) serveGemini(ctx *fasthttp.RequestCtx, path []byte) {
	if bytes.Equal(ctx.Method(), strGET) {
		// The model list and a model, from the gateway's table in
		// Gemini's shape, as for the other formats.
		switch {
		case bytes.Equal(path, strV1BetaModels):
			g.serveModels(ctx)
			return
		case bytes.HasPrefix(path, strV1BetaModel) && bytes.IndexByte(path[len(strV1BetaModel):], ':') < 0:
			g.serveModelID(ctx, path[len(strV1BetaModel):])
			return
		}
	}
	r := geminiRoute(path)
	if r == nil && !bytes.HasPrefix(path, strV1Beta) {
		// /v1/models/{x}:{action} of an action Sluice does not serve: the
		// rest of /v1/ passes through, as the contract says.
		g.servePassthrough(ctx)
		return
	}
	if r == nil {
		g.setRequestID(ctx)
		e := errorf(404, CodeNotFound, "no Gemini route for "+string(ctx.Method())+" "+quote(string(path))+
			"; Sluice serves models/{model}:generateContent, :streamGenerateContent, :embedContent and :batchEmbedContents")
		writeError(ctx, provider.FormatGemini, e)
		g.recordRefusal(ctx, "/v1beta", provider.FormatGemini, e)
		return
	}
	if !bytes.Equal(ctx.Method(), strPOST) {
		g.setRequestID(ctx)
		ctx.Response.Header.Set("Allow", "POST")
		e := errorf(405, CodeMethodNotAllowed, r.path+" takes POST")
		writeError(ctx, r.format, e)
		g.recordRefusal(ctx, r.path, r.format, e)
		return
	}
	g.serveModel(ctx, r)
}

// scanFields reads what the pipeline needs of a request to r: from the
// body (provider.ScanRequest), or for Gemini's routes the model and the
// stream flag from the path and the rest from the body.
func scanFields(ctx *fasthttp.RequestCtx, r *endpoint, body []byte) (provider.Request, error) {
	if r.format != provider.FormatGemini {
		return provider.ScanRequest(body)
	}
	model, _, _ := gemini.ParsePath(ctx.Path())
	return provider.ScanPath(body, provider.StringView(model), r == &geminiStream)
}

// geminiSamePath is the upstream path of a same-format Gemini request to
// tgt: the client's action on model, the one the target sends.
func (x *exchange) geminiSamePath(tgt *target, model string) ([]byte, []byte) {
	n := 1
	if x.ep == &geminiBatch {
		n = 2
	}
	if x.xl == nil {
		x.xl = &translation{}
	}
	rest, query := tgt.up.OpPath(x.xl.path[:0], x.op, model, x.stream, n)
	x.xl.path = rest
	return rest, query
}
