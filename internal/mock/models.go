package mock

import (
	"time"

	"github.com/valyala/fasthttp"
)

// mockModels are the models GET /v1/models lists. The mock answers for any model name;
// the list only gives clients something real-looking to read.
var mockModels = [...]string{
	"gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "o4-mini",
	"text-embedding-3-small", "text-embedding-3-large",
	"claude-3-5-haiku", "claude-sonnet-4-5", "gemini-2.0-flash",
}

// modelsCreated is the creation time every listed model reports.
const modelsCreated = 1700000000

// serveModels answers GET /v1/models (id nil) and GET /v1/models/{id}, in Anthropic's
// shape when the request carries anthropic-version, else in OpenAI's.
func (s *Server) serveModels(ctx *fasthttp.RequestCtx, id []byte) {
	c := call{route: routeModels, at: s.clock.now()}
	if s.journal != nil {
		c.entry = newEntry(&ctx.Request, c.at)
	}
	f := formatOpenAI
	if len(ctx.Request.Header.Peek("anthropic-version")) > 0 {
		f = formatAnthropic
	}
	if !ctx.IsGet() {
		ctx.Response.Header.Set("Allow", "GET")
		writeError(ctx, f, fasthttp.StatusMethodNotAllowed, "Use GET for this route.", "")
		s.finish(ctx, &c)
		return
	}
	ctx.SetContentType("application/json")
	b := ctx.Response.SwapBody(nil)[:0]
	switch {
	case id != nil:
		b = appendModel(b, f, id)
	case f == formatAnthropic:
		b = append(b, `{"data":[`...)
		for i, m := range mockModels {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendModel(b, f, stringBytes(m))
		}
		b = append(b, `],"has_more":false,"first_id":"`...)
		b = append(b, mockModels[0]...)
		b = append(b, `","last_id":"`...)
		b = append(b, mockModels[len(mockModels)-1]...)
		b = append(b, `"}`...)
	default:
		b = append(b, `{"object":"list","data":[`...)
		for i, m := range mockModels {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendModel(b, f, stringBytes(m))
		}
		b = append(b, `]}`...)
	}
	ctx.Response.SwapBody(b)
	s.finish(ctx, &c)
}

func appendModel(b []byte, f format, id []byte) []byte {
	if f == formatAnthropic {
		b = append(b, `{"type":"model","id":`...)
		b = appendQuoted(b, id)
		b = append(b, `,"display_name":`...)
		b = appendQuoted(b, id)
		b = append(b, `,"created_at":"`...)
		b = time.Unix(modelsCreated, 0).UTC().AppendFormat(b, time.RFC3339)
		return append(b, `"}`...)
	}
	b = append(b, `{"id":`...)
	b = appendQuoted(b, id)
	b = append(b, `,"object":"model","created":`...)
	b = appendInt(b, modelsCreated)
	return append(b, `,"owned_by":"sluice-mock"}`...)
}

// serveAzure serves Azure OpenAI's /openai/deployments/{deployment}/{operation}, with
// the OpenAI body and the deployment as the model. rest is the path after
// /openai/deployments/. It reports false for a path it does not know.
func (s *Server) serveAzure(ctx *fasthttp.RequestCtx, rest []byte) bool {
	slash := -1
	for i, ch := range rest {
		if ch == '/' {
			slash = i
			break
		}
	}
	if slash <= 0 {
		return false
	}
	deployment, op := rest[:slash], rest[slash+1:]
	var r route
	switch string(op) {
	case "chat/completions":
		r = routeChat
	case "completions":
		r = routeCompletions
	case "embeddings":
		r = routeEmbeddings
	case "responses":
		r = routeResponses
	default:
		return false
	}
	s.serveLLM(ctx, r, appendQuoted(nil, deployment))
	return true
}
