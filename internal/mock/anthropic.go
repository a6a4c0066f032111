package mock

import (
	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
)

// messages serves Anthropic's POST /v1/messages.
func (s *Server) messages(ctx *fasthttp.RequestCtx, c *call, body []byte) {
	root, ok := s.parseRoot(ctx, c, formatAnthropic, body)
	if !ok {
		return
	}
	var msgs, system, tools, toolChoice, maxTokens gjson.Result
	bad := ""
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			if v.Type != gjson.String {
				bad = "model: Input should be a valid string"
			}
			c.model = stringBytes(v.Raw)
		case "messages":
			msgs = v
		case "system":
			system = v
		case "max_tokens":
			maxTokens = v
		case "stream":
			c.stream = v.Type == gjson.True
		case "tools":
			tools = v
		case "tool_choice":
			toolChoice = v
		}
		return bad == ""
	})
	switch {
	case bad != "":
		s.reject(ctx, c, formatAnthropic, bad, "")
		return
	case c.model == nil:
		s.reject(ctx, c, formatAnthropic, "model: Field required", "")
		return
	case !maxTokens.Exists():
		s.reject(ctx, c, formatAnthropic, "max_tokens: Field required", "")
		return
	case maxTokens.Type != gjson.Number || maxTokens.Int() < 1:
		s.reject(ctx, c, formatAnthropic, "max_tokens: Input should be a valid integer greater than or equal to 1", "")
		return
	case !msgs.IsArray() || !msgs.Get("0").Exists():
		s.reject(ctx, c, formatAnthropic, "messages: Field required (a non-empty array)", "")
		return
	}
	c.maxTokens = int(min(maxTokens.Int(), maxSteerTokens))
	c.seed = hashBytes(hashBytes(s.seed, stringBytes(system.Raw)), stringBytes(msgs.Raw))
	textBytes, last := conversationText(system, msgs)
	c.promptTokens = estimateTokens(textBytes)
	if s.opts.Echo && last.Exists() {
		c.echo = contentText(last)
	}
	if tools.IsArray() {
		if msg := c.chooseAnthropicTool(tools, toolChoice); msg != "" {
			s.reject(ctx, c, formatAnthropic, msg, "")
			return
		}
	}
	s.reply(ctx, c)
}

// conversationText measures the text of a system prompt and messages whose content is
// a string or an array of parts with text (Anthropic, Bedrock), and returns the content
// of the last user message.
func conversationText(system, msgs gjson.Result) (textBytes int, last gjson.Result) {
	textBytes = textLen(system)
	msgs.ForEach(func(_, m gjson.Result) bool {
		content := m.Get("content")
		textBytes += textLen(content)
		if m.Get("role").Str == "user" {
			last = content
		}
		return true
	})
	return textBytes, last
}

// countTokens serves Anthropic's POST /v1/messages/count_tokens: {"input_tokens":N},
// the usage.input_tokens that /v1/messages reports for the same system and messages,
// which is the whole prompt count: the cache controls do not apply. max_tokens is not
// needed. Steering applies as to embeddings.
func (s *Server) countTokens(ctx *fasthttp.RequestCtx, c *call, body []byte) {
	root, ok := s.parseRoot(ctx, c, formatAnthropic, body)
	if !ok {
		return
	}
	model, msgs := root.Get("model"), root.Get("messages")
	switch {
	case !model.Exists():
		s.reject(ctx, c, formatAnthropic, "model: Field required", "")
		return
	case model.Type != gjson.String:
		s.reject(ctx, c, formatAnthropic, "model: Input should be a valid string", "")
		return
	case !msgs.IsArray() || !msgs.Get("0").Exists():
		s.reject(ctx, c, formatAnthropic, "messages: Field required (a non-empty array)", "")
		return
	}
	c.model = stringBytes(model.Raw)
	textBytes, _ := conversationText(root.Get("system"), msgs)
	s.startFixed(ctx, c)
	b := ctx.Response.SwapBody(nil)[:0]
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, estimateTokens(textBytes))
	ctx.Response.SwapBody(append(b, '}'))
	s.endFixed(ctx, c)
}

func (c *call) stopReason() string {
	switch {
	case c.tool != nil:
		return "tool_use"
	case c.cut:
		return "max_tokens"
	}
	return "end_turn"
}

// appendAnthropicCounts appends the input counts of a usage object. Anthropic reports
// cache reads and writes apart: input_tokens is the rest of the prompt, and the three
// add up to the prompt count.
func appendAnthropicCounts(b []byte, c *call) []byte {
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, c.promptTokens-c.st.cacheRead-c.st.cacheWrite)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = appendInt(b, c.st.cacheWrite)
	b = append(b, `,"cache_read_input_tokens":`...)
	return appendInt(b, c.st.cacheRead)
}

// appendAnthropicUsage appends a message's usage object with output tokens out. Cache
// writes are reported as the 5-minute kind, the default.
func appendAnthropicUsage(b []byte, c *call, out int) []byte {
	b = appendAnthropicCounts(b, c)
	b = append(b, `,"cache_creation":{"ephemeral_5m_input_tokens":`...)
	b = appendInt(b, c.st.cacheWrite)
	b = append(b, `,"ephemeral_1h_input_tokens":0},"output_tokens":`...)
	b = appendInt(b, out)
	return append(b, `,"service_tier":"standard"}`...)
}

func appendToolUseStart(b []byte, c *call, s *Server, input []byte) []byte {
	b = appendID(append(b, `{"type":"tool_use","id":"`...), "toolu_01", c.serial^s.seed^1)
	b = append(b, `","name":`...)
	b = appendQuoted(b, c.tool.name)
	b = append(b, `,"input":`...)
	b = append(b, input...)
	return append(b, '}')
}

func appendMessage(b []byte, c *call, s *Server) []byte {
	b = appendID(append(b, `{"id":"`...), "msg_01", c.serial^s.seed)
	b = append(b, `","type":"message","role":"assistant","model":`...)
	b = append(b, c.model...)
	b = append(b, `,"content":[`...)
	if c.tool != nil {
		b = appendToolUseStart(b, c, s, c.tool.args)
	} else {
		b = append(b, `{"type":"text","text":"`...)
		b = c.appendContent(b)
		b = append(b, `"}`...)
	}
	b = append(b, `],"stop_reason":"`...)
	b = append(b, c.stopReason()...)
	b = append(b, `","stop_sequence":null,"usage":`...)
	b = appendAnthropicUsage(b, c, c.completionTokens())
	return append(b, '}')
}

// An Anthropic message stream: message_start, content_block_start and ping (the head),
// one content_block_delta per unit (input_json_delta fragments of a tool call's input,
// or text_delta tokens), then content_block_stop, message_delta with the stop reason
// and usage, and message_stop (the tail).

func (st *stream) messagesHead(b []byte) []byte {
	c := &st.c
	b = appendEventName(b, "message_start")
	b = append(b, `{"type":"message_start","message":{"id":"msg_01`...)
	b = append(b, st.id...)
	b = append(b, `","type":"message","role":"assistant","model":`...)
	b = append(b, c.model...)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	b = appendAnthropicUsage(b, c, 1)
	b = append(b, "}}\n\n"...)
	b = appendEventName(b, "content_block_start")
	b = append(b, `{"type":"content_block_start","index":0,"content_block":`...)
	if c.tool != nil {
		b = appendToolUseStart(b, c, st.s, []byte("{}"))
	} else {
		b = append(b, `{"type":"text","text":""}`...)
	}
	b = append(b, "}\n\n"...)
	b = appendEventName(b, "ping")
	return append(b, "{\"type\": \"ping\"}\n\n"...)
}

func (st *stream) messagesUnit(b []byte) []byte {
	c := &st.c
	b = appendEventName(b, "content_block_delta")
	b = append(b, `{"type":"content_block_delta","index":0,"delta":{"type":`...)
	if c.tool != nil && st.argPos < len(c.tool.args) {
		b = append(b, `"input_json_delta","partial_json":"`...)
		b = appendJSONString(b, st.nextFragment())
	} else {
		b = append(b, `"text_delta","text":"`...)
		b = appendJSONString(b, c.tokens.next())
	}
	return append(b, "\"}}\n\n"...)
}

func (st *stream) messagesTail(b []byte) []byte {
	c := &st.c
	b = appendEventName(b, "content_block_stop")
	b = append(b, "{\"type\":\"content_block_stop\",\"index\":0}\n\n"...)
	b = appendEventName(b, "message_delta")
	b = append(b, `{"type":"message_delta","delta":{"stop_reason":"`...)
	b = append(b, c.stopReason()...)
	b = append(b, `","stop_sequence":null},"usage":`...)
	b = appendAnthropicCounts(b, c)
	b = append(b, `,"output_tokens":`...)
	b = appendInt(b, c.completionTokens())
	b = append(b, "}}\n\n"...)
	b = appendEventName(b, "message_stop")
	return append(b, "{\"type\":\"message_stop\"}\n\n"...)
}
