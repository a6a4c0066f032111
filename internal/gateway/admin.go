package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/provider"
)

// The admin API (DESIGN.md, Admin API): JSON under /admin/v1/, guarded by
// Authorization: Bearer $SLUICE_ADMIN_TOKEN. It is not on the hot path; it
// calls the key service with plain Go types.

const adminPrefix = "/admin/v1/"

// AdminHandler serves only the admin API, for a separate admin listener.
func (g *Gateway) AdminHandler() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		g.setRequestID(ctx)
		switch string(ctx.Path()) {
		case "/healthz":
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"status":"ok"}`)
		case "/readyz":
			g.serveReady(ctx)
		default:
			g.serveAdmin(ctx)
		}
	}
}

func (g *Gateway) serveAdmin(ctx *fasthttp.RequestCtx) {
	g.setRequestID(ctx)
	path := string(ctx.Path())
	if g.adminHash == ([32]byte{}) || !strings.HasPrefix(path, adminPrefix) {
		writeError(ctx, provider.DefaultFormat, errorf(404, CodeNotFound, "no admin route "+quote(path)+"; the admin API is under /admin/v1/ and needs admin.token set"))
		return
	}
	if !g.checkAdminAuth(ctx) { // answers 401 or 429 itself
		return
	}
	rest := strings.TrimPrefix(path, adminPrefix)
	method := string(ctx.Method())
	if rest == "reload" {
		g.adminReload(ctx, method)
		return
	}
	if rest == "logs" || rest == "usage" {
		switch {
		case method != "GET":
			ctx.Response.Header.Set("Allow", "GET")
			writeError(ctx, provider.DefaultFormat, errorf(405, CodeMethodNotAllowed, path+" takes GET"))
		case g.logStore == nil:
			writeError(ctx, provider.DefaultFormat, errorf(404, CodeNotFound,
				"request logging is off on this gateway (telemetry.enabled: false); enable it to query logs and usage"))
		case rest == "logs":
			g.adminLogs(ctx)
		default:
			g.adminUsage(ctx)
		}
		return
	}
	if g.keys == nil {
		writeError(ctx, provider.DefaultFormat, errorf(404, CodeNotFound,
			"virtual keys are off on this gateway (auth.enabled: false); enable them to manage keys"))
		return
	}
	actx := auth.WithActor(context.Background(), "admin-api "+ctx.RemoteIP().String())
	if g.adminTeams(ctx, actx, rest, method) { // teams.go
		return
	}
	switch {
	case rest == "keys" && method == "POST":
		g.adminCreate(ctx, actx)
	case rest == "keys" && method == "GET":
		g.adminList(ctx, actx)
	case rest == "audit" && method == "GET":
		g.adminAudit(ctx, actx)
	case strings.HasPrefix(rest, "keys/"):
		id, action, _ := strings.Cut(strings.TrimPrefix(rest, "keys/"), "/")
		switch {
		case id == "":
		case action == "" && method == "GET":
			g.adminGet(ctx, actx, id)
			return
		case action == "" && method == "PATCH":
			g.adminUpdate(ctx, actx, id)
			return
		case action == "" && method == "DELETE":
			g.adminRevoke(ctx, actx, id)
			return
		case action == "rotate" && method == "POST":
			g.adminRotate(ctx, actx, id)
			return
		}
		g.adminNoRoute(ctx, method, path)
	default:
		g.adminNoRoute(ctx, method, path)
	}
}

func (g *Gateway) adminNoRoute(ctx *fasthttp.RequestCtx, method, path string) {
	writeError(ctx, provider.DefaultFormat, errorf(404, CodeNotFound, "no admin route "+method+" "+quote(path)))
}

// keyWithSecret is a key object plus its secret, shown once.
type keyWithSecret struct {
	auth.Key
	Secret string `json:"key"`
}

func (g *Gateway) adminCreate(ctx *fasthttp.RequestCtx, actx context.Context) {
	in, err := auth.DecodeKeyInput(ctx.PostBody())
	if err != nil {
		g.adminError(ctx, err)
		return
	}
	k, secret, err := g.keys.Create(actx, in)
	if err != nil {
		g.adminError(ctx, err)
		return
	}
	g.adminJSON(ctx, 201, keyWithSecret{Key: k, Secret: secret})
}

type page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}

func pageLimit(ctx *fasthttp.RequestCtx) (int, error) {
	v := ctx.QueryArgs().Peek("limit")
	if len(v) == 0 {
		return 0, nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 0 {
		return 0, &auth.FieldError{Field: "limit", Msg: "must be a non-negative integer"}
	}
	return n, nil
}

func (g *Gateway) adminList(ctx *fasthttp.RequestCtx, actx context.Context) {
	limit, err := pageLimit(ctx)
	if err != nil {
		g.adminError(ctx, err)
		return
	}
	keys, next, err := g.keys.List(actx, string(ctx.QueryArgs().Peek("cursor")), limit)
	if err != nil {
		g.adminError(ctx, err)
		return
	}
	if keys == nil {
		keys = []auth.Key{}
	}
	g.adminJSON(ctx, 200, page[auth.Key]{Data: keys, NextCursor: next})
}

func (g *Gateway) adminAudit(ctx *fasthttp.RequestCtx, actx context.Context) {
	limit, err := pageLimit(ctx)
	if err != nil {
		g.adminError(ctx, err)
		return
	}
	q := ctx.QueryArgs()
	entries, next, err := g.keys.Audit(actx, string(q.Peek("key_id")), string(q.Peek("cursor")), limit)
	if err != nil {
		g.adminError(ctx, err)
		return
	}
	if entries == nil {
		entries = []auth.AuditEntry{}
	}
	g.adminJSON(ctx, 200, page[auth.AuditEntry]{Data: entries, NextCursor: next})
}

func (g *Gateway) adminGet(ctx *fasthttp.RequestCtx, actx context.Context, id string) {
	k, err := g.keys.Get(actx, id)
	if err != nil {
		g.adminError(ctx, err)
		return
	}
	g.adminJSON(ctx, 200, k)
}

func (g *Gateway) adminUpdate(ctx *fasthttp.RequestCtx, actx context.Context, id string) {
	k, err := g.keys.Update(actx, id, ctx.PostBody())
	if err != nil {
		g.adminError(ctx, err)
		return
	}
	g.adminJSON(ctx, 200, k)
}

func (g *Gateway) adminRevoke(ctx *fasthttp.RequestCtx, actx context.Context, id string) {
	if err := g.keys.Revoke(actx, id); err != nil {
		g.adminError(ctx, err)
		return
	}
	ctx.SetStatusCode(204)
}

func (g *Gateway) adminRotate(ctx *fasthttp.RequestCtx, actx context.Context, id string) {
	k, secret, err := g.keys.Rotate(actx, id)
	if err != nil {
		g.adminError(ctx, err)
		return
	}
	g.adminJSON(ctx, 200, keyWithSecret{Key: k, Secret: secret})
}

func (g *Gateway) adminJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		g.adminError(ctx, err)
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// adminError maps the key service's errors to statuses; messages never
// carry a secret (the service's errors do not hold one).
func (g *Gateway) adminError(ctx *fasthttp.RequestCtx, err error) {
	var fe *auth.FieldError
	var e *HTTPError
	switch {
	case errors.As(err, &fe):
		e = &HTTPError{Status: 400, Code: CodeInvalidRequest, Param: fe.Field, Msg: fe.Error()}
	case errors.Is(err, auth.ErrNotFound):
		e = &HTTPError{Status: 404, Code: CodeNotFound, Msg: "no key with this id"}
	case errors.Is(err, auth.ErrStaticKey), errors.Is(err, auth.ErrRevoked):
		e = &HTTPError{Status: 409, Code: "conflict", Msg: err.Error()}
	case errors.Is(err, auth.ErrNotReady):
		e = &HTTPError{Status: 503, Code: CodeOverloaded, Msg: "the key store is not reachable yet; retry shortly"}
	default:
		g.log.LogAttrs(context.Background(), slog.LevelError, "admin request failed",
			slog.String("path", string(ctx.Path())), slog.String("error", err.Error()))
		e = &HTTPError{Status: 500, Code: CodeInternal, Msg: "the key store failed; the error was logged, retry"}
	}
	g.met.GatewayError("admin", e.Code)
	writeError(ctx, provider.DefaultFormat, e)
}
