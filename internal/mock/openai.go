package mock

import (
	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
)

const (
	fingerprint = "fp_mock0000"
	msgBadJSON  = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
)

// parseRoot checks that body is a JSON object and returns it; on failure it has
// already answered with a 400 in format f.
func (s *Server) parseRoot(ctx *fasthttp.RequestCtx, c *call, f format, body []byte) (gjson.Result, bool) {
	if len(body) == 0 || !gjson.ValidBytes(body) {
		s.reject(ctx, c, f, msgBadJSON, "")
		return gjson.Result{}, false
	}
	root := gjson.Parse(bytesString(body))
	if !root.IsObject() {
		s.reject(ctx, c, f, "The request body must be a JSON object.", "")
		return root, false
	}
	return root, true
}

// reject answers a request the mock found invalid with a 400.
func (s *Server) reject(ctx *fasthttp.RequestCtx, c *call, f format, msg, param string) {
	writeError(ctx, f, fasthttp.StatusBadRequest, msg, param)
	s.finish(ctx, c)
}

// readCommon reads the fields every OpenAI generating route shares. It reports the
// name of a field that is present with the wrong type.
func (c *call) readCommon(k, v gjson.Result) string {
	switch k.Str {
	case "model":
		if c.model != nil {
			return "" // the path named it (Azure)
		}
		if v.Type != gjson.String {
			return "model"
		}
		c.model = stringBytes(v.Raw)
	case "stream":
		c.stream = v.Type == gjson.True
	case "stream_options":
		c.includeUsage = v.Get("include_usage").Type == gjson.True
	case "max_tokens", "max_completion_tokens", "max_output_tokens":
		switch {
		case v.Type == gjson.Null:
		case v.Type != gjson.Number || v.Int() < 0:
			return k.Str
		default:
			c.maxTokens = int(min(v.Int(), maxSteerTokens))
		}
	}
	return ""
}

// textLen is the length of a message content: a string, or an array of parts whose
// "text" fields count. It measures the JSON form, escapes included, to stay
// allocation-free; the estimate only needs to be deterministic.
func textLen(content gjson.Result) int {
	switch {
	case content.Type == gjson.String:
		return len(content.Raw) - 2
	case content.IsArray():
		n := 0
		content.ForEach(func(_, part gjson.Result) bool {
			if t := part.Get("text"); t.Type == gjson.String {
				n += len(t.Raw) - 2
			}
			return true
		})
		return n
	}
	return 0
}

// contentText returns the text of a message content, unescaped, for echoing.
func contentText(content gjson.Result) []byte {
	if content.Type == gjson.String {
		return []byte(content.Str)
	}
	var b []byte
	content.ForEach(func(_, part gjson.Result) bool {
		if t := part.Get("text"); t.Type == gjson.String {
			if len(b) > 0 {
				b = append(b, ' ')
			}
			b = append(b, t.Str...)
		}
		return true
	})
	if b == nil {
		b = []byte{}
	}
	return b
}

// chat serves POST /v1/chat/completions (and Azure's deployment route).
func (s *Server) chat(ctx *fasthttp.RequestCtx, c *call, body []byte) {
	root, ok := s.parseRoot(ctx, c, formatOpenAI, body)
	if !ok {
		return
	}
	var msgs, tools, toolChoice gjson.Result
	bad := ""
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "messages":
			msgs = v
		case "tools":
			tools = v
		case "tool_choice":
			toolChoice = v
		default:
			bad = c.readCommon(k, v)
		}
		return bad == ""
	})
	switch {
	case bad != "":
		s.reject(ctx, c, formatOpenAI, "Invalid type for '"+bad+"'.", bad)
		return
	case c.model == nil:
		s.reject(ctx, c, formatOpenAI, "You must provide a model parameter.", "model")
		return
	case !msgs.IsArray() || len(msgs.Raw) < 3 || !msgs.Get("0").Exists():
		s.reject(ctx, c, formatOpenAI, "'messages' must be a non-empty array.", "messages")
		return
	}
	c.seed = hashBytes(s.seed, stringBytes(msgs.Raw))
	textBytes := 0
	var last gjson.Result
	msgs.ForEach(func(_, m gjson.Result) bool {
		content := m.Get("content")
		textBytes += textLen(content)
		if m.Get("role").Str == "user" {
			last = content
		}
		return true
	})
	c.promptTokens = estimateTokens(textBytes)
	if s.opts.Echo && last.Exists() {
		c.echo = contentText(last)
	}
	if tools.IsArray() {
		if err := c.chooseTool(tools, toolChoice); err != "" {
			s.reject(ctx, c, formatOpenAI, err, "tool_choice")
			return
		}
	}
	s.reply(ctx, c)
}

// reply plans the reply of c and sends it, streamed or whole.
func (s *Server) reply(ctx *fasthttp.RequestCtx, c *call) {
	c.plan(s.opts.Tokens)
	if c.st.status >= 200 && c.st.status < 300 {
		ctx.SetStatusCode(c.st.status)
	}
	malformed := c.st.malformedRate > 0 && s.roll(c.serial, 3) < c.st.malformedRate
	s.setRequestID(ctx, c)
	if c.stream {
		s.startStream(ctx, c, malformed)
		return
	}
	p := newPacer(&c.st, c.n, c.seed^paceSalt)
	s.wait(p.total(c.n))
	ctx.SetContentType("application/json")
	b := ctx.Response.SwapBody(nil)[:0]
	b = c.appendWhole(b, s)
	if malformed {
		b = b[:len(b)/2]
	}
	ctx.Response.SwapBody(b)
	if c.st.disconnect >= 0 {
		s.cutShort(ctx, c)
		return
	}
	s.finish(ctx, c)
}

// setRequestID sets the request id header of c's format: request-id (Anthropic),
// x-amzn-RequestId (Bedrock, a UUID) or x-request-id.
func (s *Server) setRequestID(ctx *fasthttp.RequestCtx, c *call) {
	switch c.route.format() {
	case formatAnthropic:
		ctx.Response.Header.Set("request-id", string(appendID(make([]byte, 0, 28), "req_", c.serial^s.seed)))
	case formatBedrock:
		// SetBytesV: a string conversion of more than 32 bytes would allocate.
		ctx.Response.Header.SetBytesV("x-amzn-RequestId", appendUUID(make([]byte, 0, 36), c.serial^s.seed))
	default:
		ctx.Response.Header.Set("x-request-id", string(appendID(make([]byte, 0, 28), "req_", c.serial^s.seed)))
	}
}

// appendWhole appends the non-streamed JSON body of the reply. A switch rather than a
// function value keeps c on the stack.
func (c *call) appendWhole(b []byte, s *Server) []byte {
	switch c.route {
	case routeCompletions:
		return appendCompletion(b, c, s)
	case routeResponses:
		return appendResponse(b, c, s)
	case routeMessages:
		return appendMessage(b, c, s)
	case routeGemini:
		return appendGeminiResponse(b, c, s)
	case routeConverse:
		return appendConverse(b, c, s)
	}
	return appendChatCompletion(b, c, s)
}

func (c *call) finishReason() string {
	switch {
	case c.tool != nil:
		return "tool_calls"
	case c.cut:
		return "length"
	}
	return "stop"
}

// appendChatUsage appends an OpenAI chat usage object. prompt_tokens counts every
// prompt token, cached_tokens the share of them read from the cache; OpenAI does not
// report cache writes, so X-Mock-Cache-Write-Tokens only grows the prompt here.
func appendChatUsage(b []byte, c *call, completion int) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, c.promptTokens)
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, completion)
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, c.promptTokens+completion)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, c.st.cacheRead)
	return append(b, `,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`...)
}

// appendCompletionUsage appends the legacy completions usage object. It has no details
// unless X-Mock-Cached-Tokens asks for some: then prompt_tokens_details.cached_tokens,
// as in chat usage (the SDKs share one usage type for both).
func appendCompletionUsage(b []byte, c *call) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, c.promptTokens)
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, c.n)
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, c.promptTokens+c.n)
	if c.st.cacheRead > 0 {
		b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
		b = appendInt(b, c.st.cacheRead)
		b = append(b, '}')
	}
	return append(b, '}')
}

// completionTokens is the usage count of the reply: its tokens, plus the arguments of a
// tool call.
func (c *call) completionTokens() int {
	if c.tool != nil {
		return c.n + c.tool.tokens()
	}
	return c.n
}

func appendChatCompletion(b []byte, c *call, s *Server) []byte {
	b = appendID(append(b, `{"id":"`...), "chatcmpl-", c.serial^s.seed)
	b = append(b, `","object":"chat.completion","created":`...)
	b = appendInt(b, int(c.at.Unix()))
	b = append(b, `,"model":`...)
	b = append(b, c.model...)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if c.tool != nil && c.n == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = c.appendContent(b)
		b = append(b, '"')
	}
	b = append(b, `,"refusal":null,"annotations":[]`...)
	if c.tool != nil {
		b = append(b, `,"tool_calls":[`...)
		b = c.tool.appendOpenAI(b, c, s)
		b = append(b, ']')
	}
	b = append(b, `},"logprobs":null,"finish_reason":"`...)
	b = append(b, c.finishReason()...)
	b = append(b, `"}],"usage":`...)
	b = appendChatUsage(b, c, c.completionTokens())
	b = append(b, `,"service_tier":"default","system_fingerprint":"`+fingerprint+`"}`...)
	return b
}

// A chat completion stream: a role delta (the head), one content delta per token (or,
// for a tool call, a delta with its id and name and one per fragment of its arguments),
// then the tail: a finish_reason chunk, the usage chunk when
// stream_options.include_usage asked for it, and [DONE].

// chatPrefix appends the part every chunk of the stream shares, up to its choices.
func (st *stream) chatPrefix(b []byte) []byte {
	c := &st.c
	b = append(b, `data: {"id":"chatcmpl-`...)
	b = append(b, st.id...)
	b = append(b, `","object":"chat.completion.chunk","created":`...)
	b = appendInt(b, int(c.at.Unix()))
	b = append(b, `,"model":`...)
	b = append(b, c.model...)
	return append(b, `,"service_tier":"default","system_fingerprint":"`+fingerprint+`","choices":[`...)
}

// chunkEnd is what closes every chunk but the usage chunk: with include_usage set, each
// carries "usage":null.
func (c *call) chunkEnd() string {
	if c.includeUsage {
		return ",\"usage\":null}\n\n"
	}
	return "}\n\n"
}

func (st *stream) chatHead(b []byte) []byte {
	b = st.chatPrefix(b)
	b = append(b, `{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]`...)
	return append(b, st.c.chunkEnd()...)
}

func (st *stream) chatUnit(b []byte, i int) []byte {
	c := &st.c
	b = st.chatPrefix(b)
	switch {
	case c.tool == nil:
		b = append(b, `{"index":0,"delta":{"content":"`...)
		b = appendJSONString(b, c.tokens.next())
		b = append(b, `"},"logprobs":null,"finish_reason":null}]`...)
	case i == 0:
		b = append(b, `{"index":0,"delta":{"tool_calls":[{"index":0,"id":"`...)
		b = appendID(b, "call_", c.serial^st.s.seed^1)
		b = append(b, `","type":"function","function":{"name":`...)
		b = appendQuoted(b, c.tool.name)
		b = append(b, `,"arguments":""}}]},"logprobs":null,"finish_reason":null}]`...)
	default:
		b = append(b, `{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"`...)
		b = appendJSONString(b, st.nextFragment())
		b = append(b, `"}}]},"logprobs":null,"finish_reason":null}]`...)
	}
	return append(b, c.chunkEnd()...)
}

func (st *stream) chatTail(b []byte) []byte {
	c := &st.c
	b = st.chatPrefix(b)
	b = append(b, `{"index":0,"delta":{},"logprobs":null,"finish_reason":"`...)
	b = append(b, c.finishReason()...)
	b = append(b, `"}]`...)
	b = append(b, c.chunkEnd()...)
	if c.includeUsage {
		b = st.chatPrefix(b)
		b = append(b, `],"usage":`...)
		b = appendChatUsage(b, c, c.completionTokens())
		b = append(b, "}\n\n"...)
	}
	return append(b, "data: [DONE]\n\n"...)
}

// completions serves the legacy POST /v1/completions.
func (s *Server) completions(ctx *fasthttp.RequestCtx, c *call, body []byte) {
	root, ok := s.parseRoot(ctx, c, formatOpenAI, body)
	if !ok {
		return
	}
	var prompt gjson.Result
	bad := ""
	root.ForEach(func(k, v gjson.Result) bool {
		if k.Str == "prompt" {
			prompt = v
		} else {
			bad = c.readCommon(k, v)
		}
		return bad == ""
	})
	switch {
	case bad != "":
		s.reject(ctx, c, formatOpenAI, "Invalid type for '"+bad+"'.", bad)
		return
	case c.model == nil:
		s.reject(ctx, c, formatOpenAI, "You must provide a model parameter.", "model")
		return
	case prompt.Type != gjson.String && !prompt.IsArray():
		s.reject(ctx, c, formatOpenAI, "'prompt' must be a string or an array of strings.", "prompt")
		return
	}
	if c.maxTokens < 0 {
		c.maxTokens = 16 // the legacy endpoint's own default
	}
	c.seed = hashBytes(s.seed, stringBytes(prompt.Raw))
	c.promptTokens = estimateTokens(textLen(prompt) + arrayTextLen(prompt))
	if s.opts.Echo {
		if prompt.Type == gjson.String {
			c.echo = []byte(prompt.Str)
		} else {
			c.echo = []byte(prompt.Get("0").String())
		}
	}
	s.reply(ctx, c)
}

// arrayTextLen is the length of the strings of an array of strings.
func arrayTextLen(v gjson.Result) int {
	if !v.IsArray() {
		return 0
	}
	n := 0
	v.ForEach(func(_, e gjson.Result) bool {
		if e.Type == gjson.String {
			n += len(e.Raw) - 2
		}
		return true
	})
	return n
}

func appendCompletion(b []byte, c *call, s *Server) []byte {
	b = appendID(append(b, `{"id":"`...), "cmpl-", c.serial^s.seed)
	b = append(b, `","object":"text_completion","created":`...)
	b = appendInt(b, int(c.at.Unix()))
	b = append(b, `,"model":`...)
	b = append(b, c.model...)
	b = append(b, `,"choices":[{"text":"`...)
	b = c.appendContent(b)
	b = append(b, `","index":0,"logprobs":null,"finish_reason":"`...)
	b = append(b, c.finishReason()...)
	b = append(b, `"}],"usage":`...)
	b = appendCompletionUsage(b, c)
	return append(b, `,"system_fingerprint":"`+fingerprint+`"}`...)
}

// A legacy completion stream has no head: one text chunk per token, then the tail: a
// finish_reason chunk, the usage chunk when asked for, [DONE].

// completionsPrefix appends the part every chunk of the stream shares.
func (st *stream) completionsPrefix(b []byte) []byte {
	c := &st.c
	b = append(b, `data: {"id":"cmpl-`...)
	b = append(b, st.id...)
	b = append(b, `","object":"text_completion","created":`...)
	b = appendInt(b, int(c.at.Unix()))
	b = append(b, `,"model":`...)
	b = append(b, c.model...)
	return append(b, `,"system_fingerprint":"`+fingerprint+`","choices":[`...)
}

func (st *stream) completionsUnit(b []byte) []byte {
	b = st.completionsPrefix(b)
	b = append(b, `{"text":"`...)
	b = appendJSONString(b, st.c.tokens.next())
	b = append(b, `","index":0,"logprobs":null,"finish_reason":null}]`...)
	return append(b, st.c.chunkEnd()...)
}

func (st *stream) completionsTail(b []byte) []byte {
	c := &st.c
	b = st.completionsPrefix(b)
	b = append(b, `{"text":"","index":0,"logprobs":null,"finish_reason":"`...)
	b = append(b, c.finishReason()...)
	b = append(b, `"}]`...)
	b = append(b, c.chunkEnd()...)
	if c.includeUsage {
		b = st.completionsPrefix(b)
		b = append(b, `],"usage":`...)
		b = appendCompletionUsage(b, c)
		b = append(b, "}\n\n"...)
	}
	return append(b, "data: [DONE]\n\n"...)
}
