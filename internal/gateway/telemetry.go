package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/ratelimit"
	"github.com/sluice-gw/sluice/internal/telemetry"
)

// Request logging: settle builds one telemetry.Record per request and hands
// it to the pipeline, which never blocks (internal/telemetry). The request
// path does no I/O for it.

// logBodies says which bodies a record carries.
type logBodies uint8

const (
	logNone logBodies = iota
	logRequest
	logFull
)

func parseLogBodies(s string) logBodies {
	switch s {
	case "request":
		return logRequest
	case "full":
		return logFull
	}
	return logNone
}

// adminQueryTimeout bounds one log or usage query, so an admin call does
// not hang on an unreachable database.
const adminQueryTimeout = 30 * time.Second

// LogStore answers the admin API's log and usage queries.
type LogStore interface {
	Logs(ctx context.Context, q telemetry.LogQuery) (telemetry.LogPage, error)
	Usage(ctx context.Context, q telemetry.UsageQuery) ([]telemetry.UsageRow, error)
}

// logState is what the exchange keeps for its record; filled only when
// request logging is on.
type logState struct {
	rec     telemetry.Record // the record handed to telemetry (Submit copies it)
	remote  net.Addr
	ua      []byte
	path    []byte // passthrough and refusals: the client's path
	endUser []byte
	bodyLen int
	logReq  []byte
	logResp []byte
}

func (l *logState) reset() {
	l.rec = telemetry.Record{Guardrails: l.rec.Guardrails[:0]}
	l.remote, l.bodyLen = nil, 0
	l.ua, l.endUser, l.path = reuse(l.ua), reuse(l.endUser), reuse(l.path)
	l.logReq, l.logResp = reuse(l.logReq), reuse(l.logResp)
}

// noteClient keeps the client's address and agent (and, off the model
// routes, the path) for the record.
func (x *exchange) noteClient(ctx *fasthttp.RequestCtx) {
	if x.g.tel == nil {
		return
	}
	x.remote = ctx.RemoteAddr()
	x.ua = append(x.ua[:0], ctx.UserAgent()...)
	if x.ep == nil {
		x.path = append(x.path[:0], ctx.Path()...)
	}
}

// recordRefusal logs a request answered before any exchange existed (the
// transport's errors, a wrong method on a model route).
func (g *Gateway) recordRefusal(ctx *fasthttp.RequestCtx, route string, f provider.Format, e *HTTPError) {
	if g.tel == nil {
		return
	}
	// A pooled exchange for its buffers only: not in flight, no metrics
	// (the caller counted the error).
	x := exchangePool.Get().(*exchange)
	x.g, x.start, x.format = g, ctx.Time(), f
	x.reqID = append(x.reqID, ctx.Response.Header.PeekCanonical(strXRequestID)...)
	x.noteClient(ctx)
	x.path = append(x.path[:0], route...)
	x.status, x.errCode = e.Status, e.Code
	x.record(time.Since(x.start), 0)
	x.release()
}

// noteBody keeps the end user and the body size for the record.
func (x *exchange) noteBody(fields *provider.Request, body []byte) {
	if x.g.tel == nil {
		return
	}
	x.endUser = append(x.endUser[:0], fields.User...)
	x.bodyLen = len(body)
}

// keepBody keeps a capped copy of a body for the record, if bodies are
// logged. Bodies are kept after input redaction, as sent upstream.
func (x *exchange) keepBody(dst *[]byte, b []byte) {
	max := x.s.maxLogBody
	if len(b) > max {
		b = b[:max]
	}
	*dst = append((*dst)[:0], b...)
}

// record hands the exchange's record to telemetry. cost is that of the
// upstream's reported usage (0 without one, or without prices).
func (x *exchange) record(dur time.Duration, cost float64) {
	g := x.g
	r := &x.rec
	*r = telemetry.Record{
		RequestID:    string(x.reqID),
		Time:         x.start.UTC(),
		EndUser:      string(x.endUser),
		UserAgent:    string(x.ua),
		Route:        x.routeName(), // passthrough: the path, below
		Model:        string(x.model),
		Stream:       x.stream,
		Status:       x.status,
		ErrorCode:    x.errCode,
		Attempts:     x.attempts,
		Fallback:     x.fallback,
		Latency:      dur,
		TTFT:         x.ttft,
		UpstreamTime: x.upWait,
		Overhead:     dur - x.upWait,
		Guardrails:   r.Guardrails[:0],
		RequestBody:  x.logReq,
		ResponseBody: x.logResp,
	}
	if x.format != 0 {
		r.Format = x.format.String()
	}
	if x.ep == nil && len(x.path) > 0 {
		r.Route = string(x.path)
	}
	if x.remote != nil {
		r.ClientIP = hostOf(x.remote.String())
	}
	if p := x.pol; p != nil {
		r.KeyID, r.KeyName, r.Team, r.Tags = p.ID, p.Name, logTeam(p), p.Tags
	}
	if x.tgt != nil {
		r.Provider, r.UpstreamModel = x.tgt.up.Name(), x.tgt.upstreamModel(r.Model)
	} else if x.up != nil {
		r.Provider = x.up.Name()
	}
	u := x.reportedUsage()
	estimated := false
	if !x.usage.Valid && x.attempts > 0 && x.status > 0 && x.status < 400 || x.status == 499 && x.attempts > 0 && !x.usage.Valid {
		// Served without usage: estimate the prompt as limits do.
		u = ratelimit.Usage{Input: int64(x.bodyLen+3) / 4}
		estimated = true
	}
	if x.cutStream() && u.Output < x.streamedOutput() {
		// A cut stream: at least the tokens received so far.
		u.Output, estimated = x.streamedOutput(), true
	}
	if x.failedPrompt > 0 {
		// Failed attempts the upstream was likely billed for (billFailed).
		u.Input += x.failedPrompt
		estimated = true
	}
	if estimated {
		r.TokensEstimated = true
		cost, _ = x.costOf(u)
	}
	r.PromptTokens, r.CompletionTokens, r.CachedTokens = u.Input, u.Output, u.CachedInput
	r.CacheWriteTokens, r.ReasoningTokens = u.CacheWrite, u.Reasoning
	r.CostUSD = cost
	for _, v := range x.verdicts {
		r.Guardrails = append(r.Guardrails, telemetry.Verdict{Rule: v.Rule, Action: v.Action.String(), Scope: v.Scope.String(), Count: v.Count})
	}
	if d := &x.retryAfter; !d.Allowed && d.Reason != ratelimit.ReasonNone {
		r.RateLimit = d.Reason.String()
	}
	g.tel.Submit(r)
}

// reportedUsage is the upstream's usage in the limiter's terms.
func (x *exchange) reportedUsage() ratelimit.Usage {
	u := &x.usage
	return ratelimit.Usage{Input: u.Input, Output: u.Output, CachedInput: u.CacheRead, CacheWrite: u.CacheWrite,
		CacheWrite1h: u.CacheWrite1h, Reasoning: u.Reasoning}
}

// costOf prices u by the public model's price, else the upstream model's,
// as budgets are charged, and reports whether either has a price. The
// public model of a name a pattern matched is the pattern (limitModel):
// the requested name, which the client chose, prices nothing unless it is
// what the upstream ran.
func (x *exchange) costOf(u ratelimit.Usage) (float64, bool) {
	pu := u.Pricing()
	name := x.limitModel
	if name == "" {
		name = string(x.model) // routes Sluice answers itself
	}
	cost, ok := x.s.prices.Cost(name, pu)
	if !ok && x.tgt != nil {
		cost, ok = x.s.prices.Cost(x.tgt.upstreamModel(string(x.model)), pu)
	}
	return cost, ok
}

// hostOf strips the port from "host:port" ("[v6]:port" too).
func hostOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i > 0 {
		addr = addr[:i]
	}
	return strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
}

// adminLogs serves GET /admin/v1/logs.
func (g *Gateway) adminLogs(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	q := telemetry.LogQuery{
		RequestID: string(args.Peek("request_id")),
		KeyID:     string(args.Peek("key_id")),
		Model:     string(args.Peek("model")),
		EndUser:   string(args.Peek("end_user")),
		Team:      string(args.Peek("team")),
		Cursor:    string(args.Peek("cursor")),
	}
	var herr *HTTPError
	if s := args.Peek("status"); len(s) > 0 {
		n, err := strconv.Atoi(string(s))
		if err != nil || n < 100 || n > 599 {
			herr = &HTTPError{Status: 400, Code: CodeInvalidRequest, Param: "status", Msg: "status must be an HTTP status code such as 200 or 429"}
		}
		q.Status = n
	}
	if s := args.Peek("limit"); len(s) > 0 && herr == nil {
		n, err := strconv.Atoi(string(s))
		if err != nil || n < 1 || n > 1000 {
			herr = &HTTPError{Status: 400, Code: CodeInvalidRequest, Param: "limit", Msg: "limit must be a whole number from 1 to 1000"}
		}
		q.Limit = n
	}
	if herr == nil {
		q.Since, q.Until, herr = timeRange(args)
	}
	if herr != nil {
		g.adminRefuse(ctx, herr)
		return
	}
	qctx, cancel := context.WithTimeout(context.Background(), adminQueryTimeout)
	defer cancel()
	page, err := g.logStore.Logs(qctx, q)
	if err != nil {
		g.telemetryError(ctx, err)
		return
	}
	if page.Data == nil {
		page.Data = []telemetry.Record{}
	}
	g.adminJSON(ctx, 200, page)
}

// adminUsage serves GET /admin/v1/usage.
func (g *Gateway) adminUsage(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	var q telemetry.UsageQuery
	var herr *HTTPError
	q.Since, q.Until, herr = timeRange(args)
	if gb := string(args.Peek("group_by")); gb != "" && herr == nil {
		for _, f := range strings.Split(gb, ",") {
			f = strings.TrimSpace(f)
			if !slices.Contains(telemetry.Groups, f) {
				herr = &HTTPError{Status: 400, Code: CodeInvalidRequest, Param: "group_by",
					Msg: "unknown group_by " + quote(f) + ": use a comma-separated list of key, team, model, end_user and day"}
				break
			}
			q.GroupBy = append(q.GroupBy, f)
		}
	}
	if herr != nil {
		g.adminRefuse(ctx, herr)
		return
	}
	qctx, cancel := context.WithTimeout(context.Background(), adminQueryTimeout)
	defer cancel()
	rows, err := g.logStore.Usage(qctx, q)
	if err != nil {
		g.telemetryError(ctx, err)
		return
	}
	if rows == nil {
		rows = []telemetry.UsageRow{}
	}
	g.adminJSON(ctx, 200, map[string]any{"data": rows})
}

// timeRange reads since and until (RFC 3339, or a Unix time in seconds).
func timeRange(args *fasthttp.Args) (since, until time.Time, herr *HTTPError) {
	parse := func(name string) (time.Time, *HTTPError) {
		// A '+' of a time zone offset arrives as a space unless the client
		// escaped it.
		s := strings.ReplaceAll(string(args.Peek(name)), " ", "+")
		if s == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0), nil
		}
		return time.Time{}, &HTTPError{Status: 400, Code: CodeInvalidRequest, Param: name,
			Msg: name + " must be an RFC 3339 time (2026-01-02T15:04:05Z) or Unix seconds"}
	}
	if since, herr = parse("since"); herr != nil {
		return
	}
	if until, herr = parse("until"); herr != nil {
		return
	}
	if !since.IsZero() && !until.IsZero() && until.Before(since) {
		herr = &HTTPError{Status: 400, Code: CodeInvalidRequest, Param: "until", Msg: "until is before since"}
	}
	return
}

func (g *Gateway) telemetryError(ctx *fasthttp.RequestCtx, err error) {
	var qe *telemetry.QueryError
	var e *HTTPError
	if errors.As(err, &qe) {
		e = &HTTPError{Status: 400, Code: CodeInvalidRequest, Param: qe.Param, Msg: qe.Error()}
	} else {
		g.log.LogAttrs(context.Background(), slog.LevelError, "log query failed",
			slog.String("path", string(ctx.Path())), slog.String("error", err.Error()))
		e = &HTTPError{Status: 503, Code: CodeOverloaded, Msg: "the log store did not answer; the error was logged, retry"}
	}
	g.adminRefuse(ctx, e)
}

// adminRefuse answers an admin query with e and counts it.
func (g *Gateway) adminRefuse(ctx *fasthttp.RequestCtx, e *HTTPError) {
	g.met.GatewayError("admin", e.Code)
	writeError(ctx, provider.DefaultFormat, e)
}

// logTeam is the team a log row names: the key's team_id, else its old
// free-text team label.
func logTeam(p *auth.Policy) string {
	if p.TeamID != "" {
		return p.TeamID
	}
	return p.Team
}
