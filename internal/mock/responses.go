package mock

import (
	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
)

// responses serves OpenAI's POST /v1/responses.
func (s *Server) responses(ctx *fasthttp.RequestCtx, c *call, body []byte) {
	root, ok := s.parseRoot(ctx, c, formatOpenAI, body)
	if !ok {
		return
	}
	var input, instructions, tools, toolChoice gjson.Result
	bad := ""
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "input":
			input = v
		case "instructions":
			instructions = v
		case "tools":
			tools = v
		case "tool_choice":
			toolChoice = v
		case "max_tokens", "max_completion_tokens":
			// Not fields of this API.
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
		s.reject(ctx, c, formatOpenAI, "Missing required parameter: 'model'.", "model")
		return
	case input.Type != gjson.String && !input.IsArray():
		s.reject(ctx, c, formatOpenAI, "Missing required parameter: 'input' (a string or an array of input items).", "input")
		return
	}
	c.seed = hashBytes(hashBytes(s.seed, stringBytes(instructions.Raw)), stringBytes(input.Raw))
	textBytes := textLen(instructions)
	var last gjson.Result
	if input.Type == gjson.String {
		textBytes += len(input.Raw) - 2
		last = input
	} else {
		input.ForEach(func(_, item gjson.Result) bool {
			content := item.Get("content")
			textBytes += textLen(content)
			if item.Get("role").Str == "user" {
				last = content
			}
			return true
		})
	}
	c.promptTokens = estimateTokens(textBytes)
	if s.opts.Echo && last.Exists() {
		c.echo = contentText(last)
	}
	if tools.IsArray() {
		if msg := c.chooseResponsesTool(tools, toolChoice); msg != "" {
			s.reject(ctx, c, formatOpenAI, msg, "tool_choice")
			return
		}
		// Compacted: a pretty-printed request must not put line breaks in an SSE event.
		c.tools = appendCompact(nil, tools.Raw)
		if toolChoice.Exists() {
			c.toolChoice = appendCompact(nil, toolChoice.Raw)
		}
	}
	s.reply(ctx, c)
}

func appendResponse(b []byte, c *call, s *Server) []byte {
	id := appendID(make([]byte, 0, 24), "", c.serial^s.seed)
	return appendResponseObject(b, c, s, id, true)
}

// appendResponsesUsage appends a Responses API usage object: input_tokens counts every
// prompt token, cached_tokens those read from the cache (cache writes are not reported).
func appendResponsesUsage(b []byte, c *call, out int) []byte {
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, c.promptTokens)
	b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, c.st.cacheRead)
	b = append(b, `},"output_tokens":`...)
	b = appendInt(b, out)
	b = append(b, `,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":`...)
	b = appendInt(b, c.promptTokens+out)
	return append(b, '}')
}

func (c *call) responseStatus() string {
	if c.cut {
		return "incomplete"
	}
	return "completed"
}

// appendOutputText appends the output_text content part holding the reply so far
// (final) or nothing yet.
func appendOutputText(b []byte, c *call, final bool) []byte {
	b = append(b, `{"type":"output_text","annotations":[],"logprobs":[],"text":"`...)
	if final {
		b = c.appendContent(b)
	}
	return append(b, `"}`...)
}

// appendOutputMessage appends the message output item.
func appendOutputMessage(b []byte, c *call, id []byte, final bool) []byte {
	b = append(b, `{"id":"msg_`...)
	b = append(b, id...)
	b = append(b, `","type":"message","status":"`...)
	if final {
		b = append(b, c.responseStatus()...)
		b = append(b, `","content":[`...)
		b = appendOutputText(b, c, true)
		b = append(b, ']')
	} else {
		b = append(b, `in_progress","content":[]`...)
	}
	return append(b, `,"role":"assistant"}`...)
}

// appendResponseObject appends a response object: in progress (no output, no usage)
// or final.
func appendResponseObject(b []byte, c *call, s *Server, id []byte, final bool) []byte {
	b = append(b, `{"id":"resp_`...)
	b = append(b, id...)
	b = append(b, `","object":"response","created_at":`...)
	b = appendInt(b, int(c.at.Unix()))
	b = append(b, `,"status":"`...)
	if final {
		b = append(b, c.responseStatus()...)
	} else {
		b = append(b, "in_progress"...)
	}
	b = append(b, `","background":false,"error":null,"incomplete_details":`...)
	if final && c.cut {
		b = append(b, `{"reason":"max_output_tokens"}`...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"instructions":null,"max_output_tokens":`...)
	if c.maxTokens >= 0 {
		b = appendInt(b, c.maxTokens)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"model":`...)
	b = append(b, c.model...)
	b = append(b, `,"output":[`...)
	if final {
		if c.tool != nil {
			b = appendFunctionCall(b, c, s, id, true)
		} else {
			b = appendOutputMessage(b, c, id, true)
		}
	}
	b = append(b, `],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"service_tier":"default","store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":`...)
	if c.toolChoice != nil {
		b = append(b, c.toolChoice...)
	} else {
		b = append(b, `"auto"`...)
	}
	b = append(b, `,"tools":`...)
	if c.tools != nil {
		b = append(b, c.tools...)
	} else {
		b = append(b, "[]"...)
	}
	b = append(b, `,"top_p":1.0,"truncation":"disabled","usage":`...)
	if final {
		b = appendResponsesUsage(b, c, c.completionTokens())
	} else {
		b = append(b, "null"...)
	}
	return append(b, `,"user":null,"metadata":{}}`...)
}

// appendCompact appends the JSON value raw without the whitespace between its tokens.
func appendCompact(dst []byte, raw string) []byte {
	inString, escaped := false, false
	for i := 0; i < len(raw); i++ {
		ch := raw[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
		case ch == '"':
			inString = true
		case ch == ' ', ch == '\t', ch == '\n', ch == '\r':
			continue
		}
		dst = append(dst, ch)
	}
	return dst
}

// appendFunctionCall appends the function_call output item of a tool call: in progress
// (no arguments yet) or final.
func appendFunctionCall(b []byte, c *call, s *Server, id []byte, final bool) []byte {
	b = append(b, `{"id":"fc_`...)
	b = append(b, id...)
	b = append(b, `","type":"function_call","status":"`...)
	if final {
		b = append(b, `completed","arguments":`...)
		b = appendQuoted(b, c.tool.args)
	} else {
		b = append(b, `in_progress","arguments":""`...)
	}
	b = appendID(append(b, `,"call_id":"`...), "call_", c.serial^s.seed^1)
	b = append(b, `","name":`...)
	b = appendQuoted(b, c.tool.name)
	return append(b, '}')
}

// The Responses API's typed event stream: every event has an event: line naming its
// type and a sequence_number; there is no [DONE]. The head is response.created,
// response.in_progress and response.output_item.added (plus response.content_part.added
// for text); a unit is a response.output_text.delta, or a
// response.function_call_arguments.delta for a tool call; the tail closes the item and
// ends with response.completed (response.incomplete when max_output_tokens cut it).

// responsesEvent appends the start of the next event, up to its sequence number.
func (st *stream) responsesEvent(b []byte, name string) []byte {
	b = appendEventName(b, name)
	b = append(b, `{"type":"`...)
	b = append(b, name...)
	b = append(b, `","sequence_number":`...)
	b = appendInt(b, st.seq)
	st.seq++
	return b
}

// responsesItem appends the fields that locate an event in the output.
func (st *stream) responsesItem(b []byte) []byte {
	if st.c.tool != nil {
		b = append(b, `,"item_id":"fc_`...)
		b = append(b, st.id...)
		return append(b, `","output_index":0`...)
	}
	b = append(b, `,"item_id":"msg_`...)
	b = append(b, st.id...)
	return append(b, `","output_index":0,"content_index":0`...)
}

func (st *stream) responsesHead(b []byte) []byte {
	c := &st.c
	b = st.responsesEvent(b, "response.created")
	b = appendResponseObject(append(b, `,"response":`...), c, st.s, st.id, false)
	b = append(b, "}\n\n"...)
	b = st.responsesEvent(b, "response.in_progress")
	b = appendResponseObject(append(b, `,"response":`...), c, st.s, st.id, false)
	b = append(b, "}\n\n"...)
	b = st.responsesEvent(b, "response.output_item.added")
	b = append(b, `,"output_index":0,"item":`...)
	if c.tool != nil {
		b = appendFunctionCall(b, c, st.s, st.id, false)
		return append(b, "}\n\n"...)
	}
	b = appendOutputMessage(b, c, st.id, false)
	b = append(b, "}\n\n"...)
	b = st.responsesEvent(b, "response.content_part.added")
	b = st.responsesItem(b)
	b = appendOutputText(append(b, `,"part":`...), c, false)
	return append(b, "}\n\n"...)
}

func (st *stream) responsesUnit(b []byte) []byte {
	if st.c.tool != nil {
		b = st.responsesEvent(b, "response.function_call_arguments.delta")
		b = st.responsesItem(b)
		b = append(b, `,"delta":"`...)
		b = appendJSONString(b, st.nextFragment())
		return append(b, "\"}\n\n"...)
	}
	b = st.responsesEvent(b, "response.output_text.delta")
	b = st.responsesItem(b)
	b = append(b, `,"delta":"`...)
	b = appendJSONString(b, st.c.tokens.next())
	return append(b, "\",\"logprobs\":[]}\n\n"...)
}

func (st *stream) responsesTail(b []byte) []byte {
	c := &st.c
	if c.tool != nil {
		b = st.responsesEvent(b, "response.function_call_arguments.done")
		b = st.responsesItem(b)
		b = appendQuoted(append(b, `,"arguments":`...), c.tool.args)
		b = appendQuoted(append(b, `,"name":`...), c.tool.name)
		b = append(b, "}\n\n"...)
		b = st.responsesEvent(b, "response.output_item.done")
		b = appendFunctionCall(append(b, `,"output_index":0,"item":`...), c, st.s, st.id, true)
		b = append(b, "}\n\n"...)
	} else {
		b = st.responsesEvent(b, "response.output_text.done")
		b = st.responsesItem(b)
		b = c.appendContent(append(b, `,"text":"`...))
		b = append(b, "\",\"logprobs\":[]}\n\n"...)
		b = st.responsesEvent(b, "response.content_part.done")
		b = st.responsesItem(b)
		b = appendOutputText(append(b, `,"part":`...), c, true)
		b = append(b, "}\n\n"...)
		b = st.responsesEvent(b, "response.output_item.done")
		b = appendOutputMessage(append(b, `,"output_index":0,"item":`...), c, st.id, true)
		b = append(b, "}\n\n"...)
	}
	if c.cut {
		b = st.responsesEvent(b, "response.incomplete")
	} else {
		b = st.responsesEvent(b, "response.completed")
	}
	b = appendResponseObject(append(b, `,"response":`...), c, st.s, st.id, true)
	return append(b, "}\n\n"...)
}
