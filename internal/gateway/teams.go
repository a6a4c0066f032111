package gateway

import (
	"context"
	"errors"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/provider"
)

// The admin API's teams (DESIGN.md, Admin API): /admin/v1/teams and
// /admin/v1/teams/{id}, answered like the key routes (adminError's codes
// and shape), over the key service's team operations.

// adminTeams routes rest, the path after /admin/v1/, when it is "teams" or
// under "teams/". It reports whether it did.
func (g *Gateway) adminTeams(ctx *fasthttp.RequestCtx, actx context.Context, rest, method string) bool {
	if rest == "teams" {
		switch method {
		case "POST":
			g.adminTeamCreate(ctx, actx)
		case "GET":
			g.adminTeamList(ctx, actx)
		default:
			g.adminNoRoute(ctx, method, string(ctx.Path()))
		}
		return true
	}
	id, ok := strings.CutPrefix(rest, "teams/")
	if !ok {
		return false
	}
	switch {
	case id == "" || strings.Contains(id, "/"):
		g.adminNoRoute(ctx, method, string(ctx.Path()))
	case method == "GET":
		g.adminTeamGet(ctx, actx, id)
	case method == "PATCH":
		g.adminTeamUpdate(ctx, actx, id)
	case method == "DELETE":
		g.adminTeamDelete(ctx, actx, id)
	default:
		g.adminNoRoute(ctx, method, string(ctx.Path()))
	}
	return true
}

func (g *Gateway) adminTeamCreate(ctx *fasthttp.RequestCtx, actx context.Context) {
	id, in, err := auth.DecodeTeamInput(ctx.PostBody())
	if err != nil {
		g.adminTeamError(ctx, err)
		return
	}
	t, err := g.keys.CreateTeam(actx, id, in)
	if err != nil {
		g.adminTeamError(ctx, err)
		return
	}
	g.adminJSON(ctx, 201, t)
}

func (g *Gateway) adminTeamList(ctx *fasthttp.RequestCtx, actx context.Context) {
	limit, err := pageLimit(ctx)
	if err != nil {
		g.adminTeamError(ctx, err)
		return
	}
	teams, next, err := g.keys.ListTeams(actx, string(ctx.QueryArgs().Peek("cursor")), limit)
	if err != nil {
		g.adminTeamError(ctx, err)
		return
	}
	if teams == nil {
		teams = []auth.Team{}
	}
	g.adminJSON(ctx, 200, page[auth.Team]{Data: teams, NextCursor: next})
}

func (g *Gateway) adminTeamGet(ctx *fasthttp.RequestCtx, actx context.Context, id string) {
	t, err := g.keys.GetTeam(actx, id)
	if err != nil {
		g.adminTeamError(ctx, err)
		return
	}
	g.adminJSON(ctx, 200, t)
}

func (g *Gateway) adminTeamUpdate(ctx *fasthttp.RequestCtx, actx context.Context, id string) {
	t, err := g.keys.UpdateTeam(actx, id, ctx.PostBody())
	if err != nil {
		g.adminTeamError(ctx, err)
		return
	}
	g.adminJSON(ctx, 200, t)
}

func (g *Gateway) adminTeamDelete(ctx *fasthttp.RequestCtx, actx context.Context, id string) {
	if err := g.keys.DeleteTeam(actx, id); err != nil {
		g.adminTeamError(ctx, err)
		return
	}
	ctx.SetStatusCode(204)
}

// adminTeamError answers the team errors as adminError answers the key
// ones (404 not_found, 409 conflict), and passes the rest to it.
func (g *Gateway) adminTeamError(ctx *fasthttp.RequestCtx, err error) {
	var e *HTTPError
	switch {
	case errors.Is(err, auth.ErrTeamNotFound):
		e = &HTTPError{Status: 404, Code: CodeNotFound, Msg: "no team with this id"}
	case errors.Is(err, auth.ErrStaticTeam), errors.Is(err, auth.ErrTeamExists), errors.Is(err, auth.ErrTeamInUse):
		e = &HTTPError{Status: 409, Code: "conflict", Msg: err.Error()}
	default:
		g.adminError(ctx, err)
		return
	}
	g.met.GatewayError("admin", e.Code)
	writeError(ctx, provider.DefaultFormat, e)
}
