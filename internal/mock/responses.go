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
	var input, instructions gjson.Result
	bad := ""
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "input":
			input = v
		case "instructions":
			instructions = v
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
	s.reply(ctx, c)
}

func appendResponse(b []byte, c *call, s *Server) []byte {
	id := appendID(make([]byte, 0, 24), "", c.serial^s.seed)
	return appendResponseObject(b, c, id, true)
}

// appendResponsesUsage appends a Responses API usage object.
func appendResponsesUsage(b []byte, in, out int) []byte {
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, in)
	b = append(b, `,"input_tokens_details":{"cached_tokens":0},"output_tokens":`...)
	b = appendInt(b, out)
	b = append(b, `,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":`...)
	b = appendInt(b, in+out)
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
func appendResponseObject(b []byte, c *call, id []byte, final bool) []byte {
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
		b = appendOutputMessage(b, c, id, true)
	}
	b = append(b, `],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"service_tier":"default","store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":`...)
	if final {
		b = appendResponsesUsage(b, c.promptTokens, c.n)
	} else {
		b = append(b, "null"...)
	}
	return append(b, `,"user":null,"metadata":{}}`...)
}

// runResponses writes the Responses API's typed event stream. Every event has an
// event: line naming its type and a sequence_number; there is no [DONE].
func (st *stream) runResponses() error {
	c := &st.c
	seq := 0
	event := func(b []byte, name string) []byte {
		b = appendEventName(b, name)
		b = append(b, `{"type":"`...)
		b = append(b, name...)
		b = append(b, `","sequence_number":`...)
		b = appendInt(b, seq)
		seq++
		return b
	}
	// The part every item event shares after its sequence number.
	st.pre = append(st.pre[:0], `,"item_id":"msg_`...)
	st.pre = append(st.pre, st.id...)
	st.pre = append(st.pre, `","output_index":0,"content_index":0`...)

	b := event(st.buf, "response.created")
	b = appendResponseObject(append(b, `,"response":`...), c, st.id, false)
	b = append(b, "}\n\n"...)
	b = event(b, "response.in_progress")
	b = appendResponseObject(append(b, `,"response":`...), c, st.id, false)
	b = append(b, "}\n\n"...)
	b = event(b, "response.output_item.added")
	b = appendOutputMessage(append(b, `,"output_index":0,"item":`...), c, st.id, false)
	b = append(b, "}\n\n"...)
	b = event(b, "response.content_part.added")
	b = append(b, st.pre...)
	b = appendOutputText(append(b, `,"part":`...), c, false)
	st.buf = append(b, "}\n\n"...)
	for range c.n {
		if err := st.await(); err != nil {
			return err
		}
		mark := len(st.buf)
		st.buf = event(st.buf, "response.output_text.delta")
		st.buf = append(st.buf, st.pre...)
		st.buf = append(st.buf, `,"delta":"`...)
		st.buf = appendJSONString(st.buf, c.tokens.next())
		st.buf = append(st.buf, "\",\"logprobs\":[]}\n\n"...)
		if err := st.tokenSent(mark); err != nil {
			return err
		}
	}
	if err := st.beforeEnd(); err != nil {
		return err
	}
	b = event(st.buf, "response.output_text.done")
	b = append(b, st.pre...)
	b = c.appendContent(append(b, `,"text":"`...))
	b = append(b, "\",\"logprobs\":[]}\n\n"...)
	b = event(b, "response.content_part.done")
	b = append(b, st.pre...)
	b = appendOutputText(append(b, `,"part":`...), c, true)
	b = append(b, "}\n\n"...)
	b = event(b, "response.output_item.done")
	b = appendOutputMessage(append(b, `,"output_index":0,"item":`...), c, st.id, true)
	b = append(b, "}\n\n"...)
	if c.cut {
		b = event(b, "response.incomplete")
	} else {
		b = event(b, "response.completed")
	}
	b = appendResponseObject(append(b, `,"response":`...), c, st.id, true)
	st.buf = append(b, "}\n\n"...)
	return st.flush()
}
