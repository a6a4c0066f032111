package mock

import (
	"bytes"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
)

// serveGemini routes /v1beta/models/{model}:{action}; rest is the path after
// /v1beta/models/.
func (s *Server) serveGemini(ctx *fasthttp.RequestCtx, rest []byte) {
	colon := bytes.LastIndexByte(rest, ':')
	if colon <= 0 {
		c := call{route: routeGemini, at: s.clock.now()}
		if s.journal != nil {
			c.entry = newEntry(&ctx.Request, c.at)
		}
		writeError(ctx, formatGemini, fasthttp.StatusNotFound, "Use /v1beta/models/{model}:generateContent, :streamGenerateContent, :embedContent or :batchEmbedContents.", "")
		s.finish(ctx, &c)
		return
	}
	model, action := rest[:colon], rest[colon+1:]
	switch string(action) {
	case "generateContent", "streamGenerateContent":
		s.serveLLM(ctx, routeGemini, appendQuoted(nil, model))
	case "embedContent", "batchEmbedContents":
		s.serveLLM(ctx, routeGeminiEmbed, appendQuoted(nil, model))
	default:
		c := call{route: routeGemini, at: s.clock.now()}
		if s.journal != nil {
			c.entry = newEntry(&ctx.Request, c.at)
		}
		writeError(ctx, formatGemini, fasthttp.StatusNotFound, "The mock does not serve the action "+string(action)+".", "")
		s.finish(ctx, &c)
	}
}

// gemini serves generateContent and streamGenerateContent. The stream is SSE with
// ?alt=sse, else a JSON array sent element by element, as the real API does.
func (s *Server) gemini(ctx *fasthttp.RequestCtx, c *call, body []byte) {
	root, ok := s.parseRoot(ctx, c, formatGemini, body)
	if !ok {
		return
	}
	contents := root.Get("contents")
	if !contents.IsArray() || !contents.Get("0").Exists() {
		s.reject(ctx, c, formatGemini, "* GenerateContentRequest.contents: contents is not specified", "")
		return
	}
	if mt := root.Get("generationConfig.maxOutputTokens"); mt.Exists() {
		if mt.Type != gjson.Number || mt.Int() < 1 {
			s.reject(ctx, c, formatGemini, "* GenerateContentRequest.generation_config.max_output_tokens: must be a positive integer", "")
			return
		}
		c.maxTokens = int(min(mt.Int(), maxSteerTokens))
	}
	c.seed = hashBytes(s.seed, stringBytes(contents.Raw))
	textBytes := textLen(root.Get("systemInstruction.parts"))
	var last gjson.Result
	contents.ForEach(func(_, m gjson.Result) bool {
		parts := m.Get("parts")
		textBytes += textLen(parts)
		if role := m.Get("role").Str; role == "user" || role == "" {
			last = parts
		}
		return true
	})
	c.promptTokens = estimateTokens(textBytes)
	if s.opts.Echo && last.Exists() {
		c.echo = contentText(last)
	}
	if tools := root.Get("tools"); tools.IsArray() {
		if msg := c.chooseGeminiTool(tools, field(root, "toolConfig", "tool_config")); msg != "" {
			s.reject(ctx, c, formatGemini, msg, "")
			return
		}
	}
	c.stream = bytes.HasSuffix(ctx.Path(), []byte(":streamGenerateContent"))
	c.sse = string(ctx.QueryArgs().Peek("alt")) == "sse"
	s.reply(ctx, c) // a stream without alt=sse is served as application/json
}

func (c *call) geminiFinish() string {
	if c.cut {
		return "MAX_TOKENS"
	}
	return "STOP"
}

// appendGeminiCandidate appends one GenerateContentResponse whose text is text (raw,
// or the whole reply when whole) and, when last, the finish reason and usage. A tool
// call is one functionCall part, whole: Gemini does not stream a call's arguments, and
// a streamed call is a single response (it has no text units).
func appendGeminiCandidate(b []byte, c *call, id []byte, text []byte, whole, last bool) []byte {
	b = append(b, `{"candidates":[{"content":{"parts":[`...)
	switch {
	case c.tool != nil:
		b = append(b, `{"functionCall":{"name":`...)
		b = appendQuoted(b, c.tool.name)
		b = append(b, `,"args":`...)
		b = append(b, c.tool.args...)
		b = append(b, `}}`...)
	case whole:
		b = append(b, `{"text":"`...)
		b = c.appendContent(b)
		b = append(b, `"}`...)
	default:
		b = append(b, `{"text":"`...)
		b = appendJSONString(b, text)
		b = append(b, `"}`...)
	}
	b = append(b, `],"role":"model"}`...)
	if last {
		b = append(b, `,"finishReason":"`...)
		b = append(b, c.geminiFinish()...)
		b = append(b, '"')
	}
	b = append(b, `,"index":0}]`...)
	if last {
		b = append(b, `,"usageMetadata":{"promptTokenCount":`...)
		b = appendInt(b, c.promptTokens)
		b = append(b, `,"candidatesTokenCount":`...)
		b = appendInt(b, c.completionTokens())
		b = append(b, `,"totalTokenCount":`...)
		b = appendInt(b, c.promptTokens+c.completionTokens())
		// promptTokenCount counts every prompt token, cachedContentTokenCount the share
		// read from the cache, omitted when none as Gemini omits it. Gemini reports no
		// cache writes (a cache is created by its own call).
		if c.st.cacheRead > 0 {
			b = append(b, `,"cachedContentTokenCount":`...)
			b = appendInt(b, c.st.cacheRead)
		}
		b = append(b, '}')
	}
	b = append(b, `,"modelVersion":`...)
	b = append(b, c.model...)
	b = append(b, `,"responseId":"`...)
	b = append(b, id...)
	return append(b, `"}`...)
}

func appendGeminiResponse(b []byte, c *call, s *Server) []byte {
	id := appendID(make([]byte, 0, 24), "", c.serial^s.seed)
	return appendGeminiCandidate(b, c, id, nil, true, true)
}

// streamGenerateContent sends one response per token, the last carrying finishReason
// and usageMetadata: with ?alt=sse as SSE frames ending in \r\n\r\n (no [DONE]), else
// as the elements of one JSON array. The head is the array's "[" (nothing for SSE); the
// last unit carries the end; a reply of no token is all tail.

// geminiFrame appends the start of frame k: "data: " for SSE, a separator between array
// elements.
func (st *stream) geminiFrame(b []byte, k int) []byte {
	switch {
	case st.c.sse:
		return append(b, "data: "...)
	case k > 0:
		return append(b, ",\r\n"...)
	}
	return b
}

func (st *stream) geminiFrameEnd(b []byte) []byte {
	if st.c.sse {
		return append(b, "\r\n\r\n"...)
	}
	return b
}

func (st *stream) geminiUnit(b []byte, i int) []byte {
	if i == st.units-1 {
		return st.geminiFinal(b, st.c.tokens.next())
	}
	b = st.geminiFrame(b, i)
	b = appendGeminiCandidate(b, &st.c, st.id, st.c.tokens.next(), false, false)
	return st.geminiFrameEnd(b)
}

// geminiFinal appends the last frame, with text, the finish reason and usage, and
// closes the array.
func (st *stream) geminiFinal(b, text []byte) []byte {
	b = st.geminiFrame(b, st.c.n-1)
	b = appendGeminiCandidate(b, &st.c, st.id, text, false, true)
	b = st.geminiFrameEnd(b)
	if !st.c.sse {
		b = append(b, ']')
	}
	return b
}
