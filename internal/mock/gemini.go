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
		writeError(ctx, formatGemini, fasthttp.StatusNotFound, "Use /v1beta/models/{model}:generateContent or :streamGenerateContent.", "")
		s.finish(ctx, &c)
		return
	}
	model, action := rest[:colon], rest[colon+1:]
	switch string(action) {
	case "generateContent", "streamGenerateContent":
		s.serveLLM(ctx, routeGemini, appendQuoted(nil, model))
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
	c.stream = bytes.HasSuffix(ctx.Path(), []byte(":streamGenerateContent"))
	c.sse = string(ctx.QueryArgs().Peek("alt")) == "sse"
	s.reply(ctx, c)
	if c.stream && !c.sse {
		ctx.SetContentType("application/json; charset=UTF-8")
	}
}

func (c *call) geminiFinish() string {
	if c.cut {
		return "MAX_TOKENS"
	}
	return "STOP"
}

// appendGeminiCandidate appends one GenerateContentResponse whose text is text (raw,
// or the whole reply when whole) and, when last, the finish reason and usage.
func appendGeminiCandidate(b []byte, c *call, id []byte, text []byte, whole, last bool) []byte {
	b = append(b, `{"candidates":[{"content":{"parts":[{"text":"`...)
	if whole {
		b = c.appendContent(b)
	} else {
		b = appendJSONString(b, text)
	}
	b = append(b, `"}],"role":"model"}`...)
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
		b = appendInt(b, c.n)
		b = append(b, `,"totalTokenCount":`...)
		b = appendInt(b, c.promptTokens+c.n)
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

// runGemini writes streamGenerateContent: one response per token, the last carrying
// finishReason and usageMetadata; SSE frames end in \r\n\r\n and there is no [DONE].
func (st *stream) runGemini() error {
	c := &st.c
	sse := c.sse
	if !sse {
		st.buf = append(st.buf, '[')
	}
	sep := func(k int) {
		switch {
		case sse:
			st.buf = append(st.buf, "data: "...)
		case k > 0:
			st.buf = append(st.buf, ",\r\n"...)
		}
	}
	end := func() {
		if sse {
			st.buf = append(st.buf, "\r\n\r\n"...)
		}
	}
	for k := range c.n {
		if err := st.await(); err != nil {
			return err
		}
		if k == c.n-1 {
			break // the last token goes out with the finish reason
		}
		mark := len(st.buf)
		sep(k)
		st.buf = appendGeminiCandidate(st.buf, c, st.id, c.tokens.next(), false, false)
		end()
		if err := st.tokenSent(mark); err != nil {
			return err
		}
	}
	if c.n == 0 {
		if err := st.beforeEnd(); err != nil {
			return err
		}
	} else if c.st.disconnect >= c.n {
		// Cut before the last frame, as the other formats cut before their end events.
		return st.hangUp()
	}
	mark := len(st.buf)
	sep(c.n - 1)
	var text []byte
	if c.n > 0 {
		text = c.tokens.next()
	}
	st.buf = appendGeminiCandidate(st.buf, c, st.id, text, false, true)
	end()
	if !sse {
		st.buf = append(st.buf, ']')
	}
	if c.n > 0 {
		return st.tokenSent(mark)
	}
	return st.flush()
}
