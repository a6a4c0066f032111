package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/telemetry"
)

var (
	strV1    = []byte("/v1/")
	strPOST  = []byte("POST")
	strGET   = []byte("GET")
	strAdmin = []byte("/admin/")
	// strXRequestID is already in fasthttp's canonical form.
	strXRequestID = []byte("X-Request-Id")
)

// Handler returns the fasthttp handler of the whole client surface.
func (g *Gateway) Handler() fasthttp.RequestHandler {
	metricsHandler := fasthttpadaptor.NewFastHTTPHandler(g.met.Handler())
	return func(ctx *fasthttp.RequestCtx) {
		path := ctx.Path()
		if isGeminiPath(ctx, path) {
			g.serveGemini(ctx, path)
			return
		}
		if !bytes.HasPrefix(path, strV1) {
			g.setRequestID(ctx)
			switch string(path) {
			case "/healthz":
				ctx.SetContentType("application/json")
				ctx.SetBodyString(`{"status":"ok"}`)
			case "/readyz":
				g.serveReady(ctx)
			case "/metrics":
				if !g.metricsAuthorized(ctx) {
					writeError(ctx, provider.DefaultFormat, errorf(401, CodeInvalidAPIKey,
						"GET /metrics needs Authorization: Bearer <metrics token> (metrics.token in the config)"))
					return
				}
				metricsHandler(ctx)
			default:
				if bytes.HasPrefix(path, strAdmin) && g.Config().Admin.Listen == "" {
					g.serveAdmin(ctx)
					return
				}
				writeError(ctx, provider.DefaultFormat, errorf(404, CodeNotFound,
					"no route for "+string(ctx.Method())+" "+quote(string(path))+"; the client API is under /v1/"))
			}
			return
		}
		if id := provider.FormatOf(path).Hooks().IDHeader; id != nil {
			// Set once the reply's headers are final (an upstream's id).
			defer setFormatRequestID(&ctx.Response.Header, id)
		}
		if r := g.routes[string(path)]; r != nil {
			if !bytes.Equal(ctx.Method(), strPOST) {
				g.setRequestID(ctx)
				ctx.Response.Header.Set("Allow", "POST")
				e := errorf(405, CodeMethodNotAllowed, r.path+" takes POST")
				writeError(ctx, r.format, e)
				g.recordRefusal(ctx, r.path, r.format, e)
				return
			}
			g.serveModel(ctx, r)
			return
		}
		switch string(path) {
		case "/v1/models":
			if bytes.Equal(ctx.Method(), strGET) {
				g.serveModels(ctx)
				return
			}
		case "/v1/key":
			if bytes.Equal(ctx.Method(), strGET) {
				g.serveKey(ctx)
				return
			}
		}
		if bytes.HasPrefix(path, strModelsSlash) && bytes.Equal(ctx.Method(), strGET) {
			g.serveModelInfo(ctx)
			return
		}
		g.servePassthrough(ctx)
	}
}

// ErrorHandler answers requests fasthttp rejected before the handler ran
// (body or headers too large, malformed HTTP, read timeouts) in the
// caller's format.
func (g *Gateway) ErrorHandler(ctx *fasthttp.RequestCtx, err error) {
	g.setRequestID(ctx)
	f := provider.FormatOf(ctx.Path())
	var small *fasthttp.ErrSmallBuffer
	var e *HTTPError
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		e = errorf(413, CodeRequestTooLarge, fmt.Sprintf("request body is larger than this gateway accepts (%d bytes); send a smaller request", g.maxBody()))
	case errors.As(err, &small):
		e = errorf(431, CodeRequestTooLarge, "request headers are larger than this gateway accepts; send fewer or smaller headers")
	default:
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			e = errorf(408, CodeInvalidRequest, "the request was not received in time; send it faster")
		} else {
			e = errorf(400, CodeInvalidRequest, "the request could not be read as HTTP: check its framing (Content-Length, chunked encoding)")
		}
	}
	g.met.GatewayError("transport", e.Code)
	writeError(ctx, f, e)
	if id := f.Hooks().IDHeader; id != nil {
		setFormatRequestID(&ctx.Response.Header, id)
	}
	g.recordRefusal(ctx, string(ctx.Path()), f, e)
}

func (g *Gateway) maxBody() int {
	return g.Config().Server.MaxRequestBody.Int()
}

// setRequestID keeps the client's x-request-id when valid, else makes one,
// and sets it on the response. It returns the id (valid while ctx is).
func (g *Gateway) setRequestID(ctx *fasthttp.RequestCtx) []byte {
	var buf [48]byte
	id := ctx.Request.Header.PeekCanonical(strXRequestID)
	if !validRequestID(id) {
		id = g.ids.next(buf[:0])
	}
	ctx.Response.Header.SetCanonical(strXRequestID, id)
	return ctx.Response.Header.PeekCanonical(strXRequestID)
}

func (g *Gateway) serveReady(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	switch {
	case g.draining.Load():
		ctx.SetStatusCode(503)
		ctx.SetBodyString(`{"status":"draining"}`)
	case !g.ready.Load():
		ctx.SetStatusCode(503)
		ctx.SetBodyString(`{"status":"starting"}`)
	default:
		var detail []string
		status := "ready"
		if g.keys != nil && !g.keys.Ready() {
			// The key store has not loaded once yet (PostgreSQL down at
			// start): only static keys would work.
			status = "starting"
			detail = append(detail, "key store not loaded yet")
		}
		if g.tel != nil {
			// Not a reason to take no traffic: records are kept in the
			// disk spool and replayed when the log database is back, or
			// dropped and counted when the spool is full.
			if d := telemetryDetail(g.tel.Status()); d != "" {
				detail = append(detail, d)
			}
		}
		if s := g.snap.Load(); len(s.unpriced) > 0 {
			// Not a reason to take no traffic either: those requests are
			// served and counted (sluice_unpriced_requests_total).
			detail = append(detail, "models without a price cost 0 (sluice pricing check): "+unpricedList(s.unpriced))
		}
		if status != "ready" {
			ctx.SetStatusCode(503)
		}
		b := append(make([]byte, 0, 160), `{"status":"`...)
		b = append(b, status...)
		b = append(b, '"')
		if len(detail) > 0 {
			b = append(b, `,"detail":`...)
			b = provider.AppendJSONString(b, strings.Join(detail, "; "))
		}
		ctx.SetBody(append(b, '}'))
	}
}

// telemetryDetail is /readyz's word on request logging: "" while records
// reach the log database.
func telemetryDetail(st telemetry.Status) string {
	switch {
	case st.DropReason == "spool_full":
		return "request log database unreachable or slow and the disk spool is full (telemetry.spool_max): new records are being dropped, " +
			strconv.FormatUint(st.Dropped, 10) + " dropped so far (sluice_telemetry_dropped_total); spooled records are replayed when it is back"
	case st.DropReason != "":
		return "request log database unreachable or slow and the disk spool cannot be written (see the error log): new records are being dropped, " +
			strconv.FormatUint(st.Dropped, 10) + " dropped so far (sluice_telemetry_dropped_total)"
	case st.Spooling || !st.SinkUp:
		return "request log database unreachable: records are spooled to disk and replayed when it is back"
	}
	return ""
}

// logPanic records a panic recovered in the request path with its stack.
func (g *Gateway) logPanic(v any) {
	g.log.LogAttrs(context.Background(), slog.LevelError, "panic in request",
		slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
	g.met.GatewayError("panic", CodeInternal)
}
