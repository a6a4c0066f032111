package bedrock

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// The directions Bedrock never serves (a client speaking Converse to
// Sluice) exist here as test helpers only, so that golden round trips
// check decode(encode(x)) == x: decodeRequest reads a Converse body into
// canon, encodeReply writes a canonical reply as Converse, and
// streamEncoder writes canonical events as ConverseStream events (frame
// name = :event-type, data = payload).

// decodeRequest reads a Converse request body (model: the id from the URL).
func decodeRequest(body []byte, model string, r *canon.Request) error {
	r.Reset()
	if !gjson.ValidBytes(body) {
		return canon.ErrInvalidJSON
	}
	root := gjson.ParseBytes(body)
	r.Model = model
	root.Get("messages").ForEach(func(_, m gjson.Result) bool {
		msg := canon.Message{Role: canon.RoleUser}
		if m.Get("role").Str == "assistant" {
			msg.Role = canon.RoleAssistant
		}
		msg.Parts = readBlocks(m.Get("content"), nil)
		r.Messages = append(r.Messages, msg)
		return true
	})
	r.System = readBlocks(root.Get("system"), r.System)
	ic := root.Get("inferenceConfig")
	r.MaxTokens = ic.Get("maxTokens").Int()
	r.Temperature = raw(ic.Get("temperature"))
	r.TopP = raw(ic.Get("topP"))
	ic.Get("stopSequences").ForEach(func(_, s gjson.Result) bool {
		r.Stop = append(r.Stop, s.Str)
		return true
	})
	tc := root.Get("toolConfig")
	tc.Get("tools").ForEach(func(_, t gjson.Result) bool {
		if cp := t.Get("cachePoint"); cp.Exists() && len(r.Tools) > 0 {
			r.Tools[len(r.Tools)-1].Cache = canon.Cache{Set: true, TTL: cp.Get("ttl").Str}
			return true
		}
		s := t.Get("toolSpec")
		r.Tools = append(r.Tools, canon.Tool{Name: s.Get("name").Str, Description: s.Get("description").Str,
			Schema: s.Get("inputSchema.json").Raw, Strict: s.Get("strict").Bool()})
		return true
	})
	switch tch := tc.Get("toolChoice"); {
	case tch.Get("auto").Exists():
		r.ToolChoice = canon.ToolChoice{Mode: canon.ToolAuto, Set: true}
	case tch.Get("any").Exists():
		r.ToolChoice = canon.ToolChoice{Mode: canon.ToolRequired, Set: true}
	case tch.Get("tool").Exists():
		r.ToolChoice = canon.ToolChoice{Mode: canon.ToolNamed, Name: tch.Get("tool.name").Str, Set: true}
	}
	amf := root.Get("additionalModelRequestFields")
	r.TopK = raw(amf.Get("top_k"))
	if k := amf.Get("inferenceConfig.topK"); k.Exists() {
		r.TopK = raw(k)
	}
	r.Reasoning.Budget = amf.Get("thinking.budget_tokens").Int()
	if js := root.Get("outputConfig.textFormat.structure.jsonSchema"); js.Exists() {
		r.Format = canon.ResponseFormat{Kind: canon.FormatJSONSchema, Name: js.Get("name").Str, Schema: js.Get("schema").Str}
	}
	root.Get("requestMetadata").ForEach(func(k, v gjson.Result) bool {
		if k.Str == "user" {
			r.User = v.Str
		} else {
			r.Metadata = append(r.Metadata, canon.KV{Key: k.Str, Value: v.Str})
		}
		return true
	})
	r.ServiceTier = root.Get("serviceTier.type").Str
	return nil
}

func raw(v gjson.Result) []byte {
	if !v.Exists() {
		return nil
	}
	return []byte(v.Raw)
}

var formatTypes = map[string]string{
	"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
	"pdf": "application/pdf", "csv": "text/csv", "doc": "application/msword",
	"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"xls":  "application/vnd.ms-excel",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"html": "text/html", "txt": "text/plain", "md": "text/markdown",
}

// readBlocks appends the parts of a content or system list; a cachePoint
// marks the part before it.
func readBlocks(list gjson.Result, parts []canon.Part) []canon.Part {
	list.ForEach(func(_, b gjson.Result) bool {
		var p canon.Part
		switch {
		case b.Get("cachePoint").Exists():
			if len(parts) > 0 {
				parts[len(parts)-1].Cache = canon.Cache{Set: true, TTL: b.Get("cachePoint.ttl").Str}
			}
			return true
		case b.Get("text").Exists():
			p = canon.Part{Kind: canon.PartText, Text: b.Get("text").Str}
		case b.Get("json").Exists():
			p = canon.Part{Kind: canon.PartText, Text: b.Get("json").Raw}
		case b.Get("image").Exists():
			p = mediaPart(canon.PartImage, b.Get("image"))
		case b.Get("document").Exists():
			p = mediaPart(canon.PartDocument, b.Get("document"))
		case b.Get("toolUse").Exists():
			tu := b.Get("toolUse")
			p = canon.Part{Kind: canon.PartToolCall, ID: tu.Get("toolUseId").Str, Name: tu.Get("name").Str, Args: tu.Get("input").Raw}
		case b.Get("toolResult").Exists():
			tr := b.Get("toolResult")
			p = canon.Part{Kind: canon.PartToolResult, ID: tr.Get("toolUseId").Str, IsError: tr.Get("status").Str == "error",
				Content: readBlocks(tr.Get("content"), nil)}
		case b.Get("reasoningContent").Exists():
			rc := b.Get("reasoningContent")
			p = canon.Part{Kind: canon.PartThinking, Text: rc.Get("reasoningText.text").Str,
				Signature: rc.Get("reasoningText.signature").Str, Redacted: rc.Get("redactedContent").Str}
		default:
			return true
		}
		parts = append(parts, p)
		return true
	})
	return parts
}

func mediaPart(kind canon.PartKind, m gjson.Result) canon.Part {
	p := canon.Part{Kind: kind, MediaType: formatTypes[m.Get("format").Str], Data: m.Get("source.bytes").Str,
		URL: m.Get("source.s3Location.uri").Str}
	if kind == canon.PartDocument {
		p.Name = m.Get("name").Str
	}
	return p
}

// encodeReply appends r as a Converse reply.
func encodeReply(dst []byte, r *canon.Reply) []byte {
	dst = append(dst, `{"output":{"message":{"role":"assistant","content":[`...)
	for i := range r.Parts {
		if i > 0 {
			dst = append(dst, ',')
		}
		p := &r.Parts[i]
		switch p.Kind {
		case canon.PartToolCall:
			e := encoder{dst: dst}
			_ = e.toolUse(p, at{})
			dst = e.dst
		case canon.PartThinking:
			e := encoder{dst: dst}
			e.thinking(p)
			dst = e.dst
		default:
			dst = append(dst, `{"text":`...)
			dst = wire.AppendJSONString(dst, p.Text)
			dst = append(dst, '}')
		}
	}
	dst = append(dst, `]}},"stopReason":"`...)
	dst = append(dst, stopReason(r.Stop)...)
	dst = append(dst, `","usage":`...)
	dst = appendUsage(dst, r.Usage)
	if r.Stop.Sequence != "" {
		dst = append(dst, `,"additionalModelResponseFields":{"stop_sequence":`...)
		dst = append(wire.AppendJSONString(dst, r.Stop.Sequence), '}')
	}
	return append(dst, `,"metrics":{"latencyMs":0}}`...)
}

func appendUsage(dst []byte, u canon.Usage) []byte {
	in := u.Input - u.CacheRead - u.CacheWrite
	dst = append(dst, `{"inputTokens":`...)
	dst = strconv.AppendInt(dst, in, 10)
	dst = append(dst, `,"outputTokens":`...)
	dst = strconv.AppendInt(dst, u.Output, 10)
	dst = append(dst, `,"totalTokens":`...)
	dst = strconv.AppendInt(dst, u.Input+u.Output, 10)
	if u.CacheRead > 0 || u.CacheWrite > 0 {
		dst = append(dst, `,"cacheReadInputTokens":`...)
		dst = strconv.AppendInt(dst, u.CacheRead, 10)
		dst = append(dst, `,"cacheWriteInputTokens":`...)
		dst = strconv.AppendInt(dst, u.CacheWrite, 10)
	}
	if u.CacheWrite1h > 0 {
		dst = append(dst, `,"cacheDetails":[{"ttl":"1h","inputTokens":`...)
		dst = strconv.AppendInt(dst, u.CacheWrite1h, 10)
		dst = append(dst, '}')
		if rest := u.CacheWrite - u.CacheWrite1h; rest > 0 {
			dst = append(dst, `,{"ttl":"5m","inputTokens":`...)
			dst = strconv.AppendInt(dst, rest, 10)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// streamEncoder writes canonical events as ConverseStream events.
type streamEncoder struct {
	kinds []canon.PartKind
	usage canon.Usage
}

func (s *streamEncoder) Encode(f *canon.Frames, ev *canon.Event) {
	idx := func(b []byte, i int) []byte {
		return strconv.AppendInt(append(b, `{"contentBlockIndex":`...), int64(i), 10)
	}
	switch ev.Kind {
	case canon.EvStart:
		f.Add("messageStart", []byte(`{"role":"assistant"}`))
	case canon.EvPartStart:
		s.kinds = append(s.kinds, ev.Part.Kind)
		switch {
		case ev.Part.Kind == canon.PartToolCall:
			b := idx(f.Begin("contentBlockStart"), ev.Index)
			b = append(b, `,"start":{"toolUse":{"toolUseId":`...)
			b = wire.AppendJSONString(b, ev.Part.ID)
			b = append(b, `,"name":`...)
			b = wire.AppendJSONString(b, ev.Part.Name)
			f.End(append(b, `}}}`...))
		case ev.Part.Redacted != "":
			b := idx(f.Begin("contentBlockDelta"), ev.Index)
			b = append(b, `,"delta":{"reasoningContent":{"redactedContent":`...)
			b = wire.AppendJSONString(b, ev.Part.Redacted)
			f.End(append(b, `}}}`...))
		case ev.Part.Text != "":
			s.Encode(f, &canon.Event{Kind: canon.EvDelta, Index: ev.Index, Text: ev.Part.Text})
		}
	case canon.EvDelta:
		b := idx(f.Begin("contentBlockDelta"), ev.Index)
		switch s.kinds[ev.Index] {
		case canon.PartToolCall:
			b = append(b, `,"delta":{"toolUse":{"input":`...)
			b = wire.AppendJSONString(b, ev.Text)
			b = append(b, '}')
		case canon.PartThinking:
			b = append(b, `,"delta":{"reasoningContent":{`...)
			if ev.Signature != "" {
				b = wire.AppendJSONString(append(b, `"signature":`...), ev.Signature)
			} else {
				b = wire.AppendJSONString(append(b, `"text":`...), ev.Text)
			}
			b = append(b, '}')
		default:
			b = wire.AppendJSONString(append(b, `,"delta":{"text":`...), ev.Text)
		}
		f.End(append(b, `}}`...))
	case canon.EvPartStop:
		f.End(append(idx(f.Begin("contentBlockStop"), ev.Index), '}'))
	case canon.EvStop:
		b := append(f.Begin("messageStop"), `{"stopReason":"`...)
		b = append(append(b, stopReason(ev.Stop)...), '"')
		if ev.Stop.Sequence != "" {
			b = append(b, `,"additionalModelResponseFields":{"stop_sequence":`...)
			b = append(wire.AppendJSONString(b, ev.Stop.Sequence), '}')
		}
		f.End(append(b, '}'))
	case canon.EvUsage:
		u := &s.usage
		for _, p := range [...]struct{ dst, src *int64 }{{&u.Input, &ev.Usage.Input}, {&u.Output, &ev.Usage.Output},
			{&u.CacheRead, &ev.Usage.CacheRead}, {&u.CacheWrite, &ev.Usage.CacheWrite}, {&u.CacheWrite1h, &ev.Usage.CacheWrite1h}} {
			if *p.src != 0 {
				*p.dst = *p.src
			}
		}
	case canon.EvEnd:
		b := append(f.Begin("metadata"), `{"usage":`...)
		b = appendUsage(b, s.usage)
		f.End(append(b, `,"metrics":{"latencyMs":0}}`...))
	case canon.EvError:
		name := ev.Err.Code
		if !isError([]byte(name)) {
			name = map[canon.ErrorType]string{canon.ErrInvalidRequest: "validationException", canon.ErrRateLimit: "throttlingException",
				canon.ErrOverloaded: "serviceUnavailableException", canon.ErrTimeout: "modelTimeoutException"}[ev.Err.Type]
			if name == "" {
				name = "internalServerException"
			}
		}
		b := wire.AppendJSONString(append(f.Begin(name), `{"message":`...), ev.Err.Message)
		f.End(append(b, '}'))
	}
}
