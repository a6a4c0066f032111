package mock

import (
	"bytes"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
)

// bedrockErrorSuffix follows the error type in Bedrock's x-amzn-ErrorType header.
const bedrockErrorSuffix = ":http://internal.amazon.com/coral/com.amazon.bedrock/"

// serveBedrock routes Bedrock runtime's /model/{modelId}/{action}; rest is the path
// after /model/. A model id may hold slashes itself (an ARN, sent percent-encoded and
// decoded by fasthttp), so the action is what follows the last one.
func (s *Server) serveBedrock(ctx *fasthttp.RequestCtx, rest []byte) {
	if slash := bytes.LastIndexByte(rest, '/'); slash > 0 {
		switch string(rest[slash+1:]) {
		case "converse", "converse-stream":
			s.serveLLM(ctx, routeConverse, appendQuoted(nil, rest[:slash]))
			return
		}
	}
	c := call{route: routeConverse, at: s.clock.now()}
	if s.journal != nil {
		c.entry = newEntry(&ctx.Request, c.at)
	}
	k := kindOf(fasthttp.StatusNotFound)
	k.bedrockType = "UnknownOperationException"
	writeErrorKind(ctx, formatBedrock, fasthttp.StatusNotFound, k,
		"The mock serves POST /model/{modelId}/converse and /model/{modelId}/converse-stream only.", "")
	s.finish(ctx, &c)
}

// converse serves Bedrock's Converse (POST /model/{modelId}/converse, a JSON reply) and
// ConverseStream (/converse-stream, an AWS event stream). It reads messages, system,
// inferenceConfig.maxTokens and toolConfig; the signature was checked by serveLLM.
func (s *Server) converse(ctx *fasthttp.RequestCtx, c *call, body []byte) {
	root, ok := s.parseRoot(ctx, c, formatBedrock, body)
	if !ok {
		return
	}
	msgs, system := root.Get("messages"), root.Get("system")
	switch {
	case !msgs.Exists():
		s.reject(ctx, c, formatBedrock, "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null", "")
		return
	case !msgs.IsArray() || !msgs.Get("0").Exists():
		s.reject(ctx, c, formatBedrock, "1 validation error detected: Value at 'messages' failed to satisfy constraint: Member must be a list of length greater than or equal to 1", "")
		return
	}
	if mt := root.Get("inferenceConfig.maxTokens"); mt.Exists() {
		if mt.Type != gjson.Number || mt.Int() < 1 {
			s.reject(ctx, c, formatBedrock, "1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1", "")
			return
		}
		c.maxTokens = int(min(mt.Int(), maxSteerTokens))
	}
	c.seed = hashBytes(hashBytes(s.seed, stringBytes(system.Raw)), stringBytes(msgs.Raw))
	textBytes, last := conversationText(system, msgs)
	c.promptTokens = estimateTokens(textBytes)
	if s.opts.Echo && last.Exists() {
		c.echo = contentText(last)
	}
	if tc := root.Get("toolConfig"); tc.Exists() {
		if msg := c.chooseBedrockTool(tc); msg != "" {
			s.reject(ctx, c, formatBedrock, msg, "")
			return
		}
	}
	c.stream = bytes.HasSuffix(ctx.Path(), []byte("/converse-stream"))
	s.reply(ctx, c)
}

// latencyMs is the reply's metrics.latencyMs: the planned time of its last unit of
// units, the wait a non-streamed reply makes. It does not read the clock, so that the
// same steering always reports the same number.
func (c *call) latencyMs(units int) int {
	p := newPacer(&c.st, c.n, c.seed^paceSalt)
	return int(p.total(units) / time.Millisecond)
}

// appendBedrockUsage appends a Converse usage object with output tokens out.
//
// As Anthropic's, Bedrock's inputTokens leaves out the tokens read from and written to
// the cache: the whole prompt is inputTokens + cacheReadInputTokens +
// cacheWriteInputTokens, and totalTokens counts all three and the output. The API
// reference (TokenUsage) says only "the number of tokens sent in the request"; the
// prompt-caching guide (docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html,
// as quoted in ruby_llm PR #832) says that with caching inputTokens is the non-cached
// input only, and clients read it so (ruby_llm #832, Bifrost #1872, which also notes
// that totalTokens includes the cached tokens). Bifrost #6942 measured ConverseStream
// on an OpenAI model counting the cache write inside inputTokens as well; the mock
// follows the documented form for every model.
func appendBedrockUsage(b []byte, c *call, out int) []byte {
	b = append(b, `{"inputTokens":`...)
	b = appendInt(b, c.promptTokens-c.st.cacheRead-c.st.cacheWrite)
	b = append(b, `,"outputTokens":`...)
	b = appendInt(b, out)
	b = append(b, `,"totalTokens":`...)
	b = appendInt(b, c.promptTokens+out)
	b = append(b, `,"cacheReadInputTokens":`...)
	b = appendInt(b, c.st.cacheRead)
	b = append(b, `,"cacheWriteInputTokens":`...)
	b = appendInt(b, c.st.cacheWrite)
	return append(b, '}')
}

// appendToolUseID appends the id of the reply's tool call, quoted.
func appendToolUseID(b []byte, c *call, s *Server) []byte {
	b = appendID(append(b, '"'), "tooluse_", c.serial^s.seed^1)
	return append(b, '"')
}

// appendConverse appends a Converse reply.
func appendConverse(b []byte, c *call, s *Server) []byte {
	b = append(b, `{"metrics":{"latencyMs":`...)
	b = appendInt(b, c.latencyMs(c.n))
	b = append(b, `},"output":{"message":{"content":[`...)
	if c.tool != nil {
		b = append(b, `{"toolUse":{"toolUseId":`...)
		b = appendToolUseID(b, c, s)
		b = append(b, `,"name":`...)
		b = appendQuoted(b, c.tool.name)
		b = append(b, `,"input":`...)
		b = append(b, c.tool.args...)
		b = append(b, `}}`...)
	} else {
		b = append(b, `{"text":"`...)
		b = c.appendContent(b)
		b = append(b, `"}`...)
	}
	b = append(b, `],"role":"assistant"}},"stopReason":"`...)
	b = append(b, c.stopReason()...)
	b = append(b, `","usage":`...)
	b = appendBedrockUsage(b, c, c.completionTokens())
	return append(b, '}')
}

// A ConverseStream reply is an AWS event stream (application/vnd.amazon.eventstream):
// binary messages of a prelude (total length, headers length, prelude CRC32), headers
// (:event-type, :content-type application/json, :message-type event), a JSON payload
// and a CRC32 of the whole message, framed by the AWS SDK's own encoder. The head is
// messageStart and, for a tool call, contentBlockStart with its id and name; each unit
// is a contentBlockDelta (a text token, or a fragment of the call's input as a string);
// the tail is contentBlockStop, messageStop with the stop reason and metadata with
// usage and metrics. As the real service does, every payload carries a "p" field that
// pads it (here to a multiple of 16 bytes), which clients must ignore.

// converseEvent indexes converseHeaders.
type converseEvent uint8

const (
	evMessageStart converseEvent = iota
	evContentBlockStart
	evContentBlockDelta
	evContentBlockStop
	evMessageStop
	evMetadata
	numConverseEvents
)

// converseHeaders are the headers of each event. They are never modified.
var converseHeaders = [numConverseEvents]eventstream.Headers{
	evMessageStart:      eventHeaders("messageStart"),
	evContentBlockStart: eventHeaders("contentBlockStart"),
	evContentBlockDelta: eventHeaders("contentBlockDelta"),
	evContentBlockStop:  eventHeaders("contentBlockStop"),
	evMessageStop:       eventHeaders("messageStop"),
	evMetadata:          eventHeaders("metadata"),
}

func eventHeaders(eventType string) eventstream.Headers {
	return eventstream.Headers{
		{Name: ":event-type", Value: eventstream.StringValue(eventType)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		{Name: ":message-type", Value: eventstream.StringValue("event")},
	}
}

// appendWriter is an io.Writer that appends to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// eventPad is what the padding field is drawn from.
const eventPad = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// appendEvent appends the message of event ev whose payload is st.payload, a JSON
// object left open, which it pads and closes first. The payload is cut in half when
// malformed: the message stays well framed, its JSON does not parse.
func (st *stream) appendEvent(b []byte, ev converseEvent, malformed bool) []byte {
	p := append(st.payload, `,"p":"`...)
	k := 16 - (len(p)+2)%16 // 1 to 16 characters of padding, then `"}`
	p = append(append(p, eventPad[:k]...), `"}`...)
	if malformed {
		p = p[:len(p)/2]
	}
	st.payload = p[:0]
	if st.enc == nil {
		st.enc = eventstream.NewEncoder()
	}
	st.ew.b = b
	// Encode fails only for a payload over 16 MiB or a header name over 255 bytes;
	// these payloads hold one token or fragment.
	_ = st.enc.Encode(&st.ew, eventstream.Message{Headers: converseHeaders[ev], Payload: p})
	b = st.ew.b
	st.ew.b = nil
	return b
}

func (st *stream) converseHead(b []byte) []byte {
	c := &st.c
	st.payload = append(st.payload[:0], `{"role":"assistant"`...)
	b = st.appendEvent(b, evMessageStart, false)
	if c.tool != nil {
		st.payload = append(st.payload[:0], `{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":`...)
		st.payload = appendToolUseID(st.payload, c, st.s)
		st.payload = append(st.payload, `,"name":`...)
		st.payload = appendQuoted(st.payload, c.tool.name)
		st.payload = append(st.payload, `}}`...)
		b = st.appendEvent(b, evContentBlockStart, false)
	}
	return b
}

func (st *stream) converseUnit(b []byte, i int) []byte {
	c := &st.c
	p := append(st.payload[:0], `{"contentBlockIndex":0,"delta":{`...)
	if c.tool != nil && st.argPos < len(c.tool.args) {
		p = append(p, `"toolUse":{"input":"`...)
		p = appendJSONString(p, st.nextFragment())
		p = append(p, `"}}`...)
	} else {
		p = append(p, `"text":"`...)
		p = appendJSONString(p, c.tokens.next())
		p = append(p, `"}`...)
	}
	st.payload = p
	return st.appendEvent(b, evContentBlockDelta, st.malformed && i == 0)
}

func (st *stream) converseTail(b []byte) []byte {
	c := &st.c
	st.payload = append(st.payload[:0], `{"contentBlockIndex":0`...)
	b = st.appendEvent(b, evContentBlockStop, false)
	p := append(st.payload[:0], `{"stopReason":"`...)
	p = append(p, c.stopReason()...)
	st.payload = append(p, '"')
	b = st.appendEvent(b, evMessageStop, false)
	p = append(st.payload[:0], `{"usage":`...)
	p = appendBedrockUsage(p, c, c.completionTokens())
	p = append(p, `,"metrics":{"latencyMs":`...)
	p = appendInt(p, c.latencyMs(st.units))
	st.payload = append(p, '}')
	return st.appendEvent(b, evMetadata, false)
}
