package anthropic

import (
	"errors"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// errCodecNotMessage is a reply that is JSON but not a message.
var errCodecNotMessage = errors.New("anthropic: reply is not a Messages API message")

// codecDecodeReply reads an Anthropic upstream's message into r. Content
// blocks of server tools (which a translated request never asks for) are
// left out; citations are dropped.
func codecDecodeReply(body []byte, r *canon.Reply) error {
	r.Reset()
	if !gjson.ValidBytes(body) {
		return canon.ErrInvalidJSON
	}
	root := gjson.Parse(wire.StringView(body))
	if !root.IsObject() {
		return errCodecNotMessage
	}
	var content, stopReason, stopSequence, usage gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			r.ID = codecStr(v)
		case "model":
			r.Model = codecStr(v)
		case "content":
			content = v
		case "stop_reason":
			stopReason = v
		case "stop_sequence":
			stopSequence = v
		case "usage":
			usage = v
		}
		return true
	})
	content.ForEach(func(_, b gjson.Result) bool {
		var f codecFields
		codecReadFields(b, &f)
		var p canon.Part
		switch f.typ.Str {
		case "text":
			p = canon.Part{Kind: canon.PartText, Text: codecStr(f.text)}
		case "thinking":
			p = canon.Part{Kind: canon.PartThinking, Text: codecStr(f.thinking), Signature: codecStr(f.signature)}
		case "redacted_thinking":
			p = canon.Part{Kind: canon.PartThinking, Redacted: codecStr(f.data)}
		case "tool_use":
			p = canon.Part{Kind: canon.PartToolCall, ID: codecStr(f.id), Name: codecStr(f.name), Args: "{}"}
			if f.input.IsObject() {
				p.Args = strings.Clone(f.input.Raw)
			}
		default:
			return true
		}
		r.Parts = append(r.Parts, p)
		return true
	})
	sr := stopReason.Str
	r.Stop = canon.Stop{Reason: codecStopReason(sr), Raw: strings.Clone(sr)}
	if r.Stop.Reason == canon.StopSequence {
		r.Stop.Sequence = codecStr(stopSequence)
	}
	codecReadUsage(usage, &r.Usage)
	return nil
}

// codecReadUsage reads a usage object: Anthropic's input_tokens leaves out
// cache reads and writes, which the canonical Input counts.
func codecReadUsage(res gjson.Result, u *canon.Usage) {
	if !res.IsObject() {
		return
	}
	u.Valid = true
	res.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "input_tokens":
			u.Input += v.Int()
		case "cache_read_input_tokens":
			u.CacheRead = v.Int()
			u.Input += u.CacheRead
		case "cache_creation_input_tokens":
			u.CacheWrite = v.Int()
			u.Input += u.CacheWrite
		case "cache_creation":
			u.CacheWrite1h = v.Get("ephemeral_1h_input_tokens").Int()
		case "output_tokens":
			u.Output = v.Int()
		case "output_tokens_details":
			u.Reasoning = v.Get("thinking_tokens").Int()
		}
		return true
	})
}

// codecAppendUsage appends a usage object for u: input_tokens without the
// cache reads and writes; cache_creation's breakdown where full is set
// (a message's usage; message_delta's has none).
func codecAppendUsage(dst []byte, u *canon.Usage, full bool) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = strconv.AppendInt(dst, max(u.Input-u.CacheRead-u.CacheWrite, 0), 10)
	dst = append(dst, `,"cache_creation_input_tokens":`...)
	dst = strconv.AppendInt(dst, u.CacheWrite, 10)
	dst = append(dst, `,"cache_read_input_tokens":`...)
	dst = strconv.AppendInt(dst, u.CacheRead, 10)
	if full {
		dst = append(dst, `,"cache_creation":{"ephemeral_5m_input_tokens":`...)
		dst = strconv.AppendInt(dst, max(u.CacheWrite-u.CacheWrite1h, 0), 10)
		dst = append(dst, `,"ephemeral_1h_input_tokens":`...)
		dst = strconv.AppendInt(dst, u.CacheWrite1h, 10)
		dst = append(dst, '}')
	}
	dst = append(dst, `,"output_tokens":`...)
	dst = strconv.AppendInt(dst, u.Output, 10)
	if u.Reasoning > 0 {
		dst = append(dst, `,"output_tokens_details":{"thinking_tokens":`...)
		dst = strconv.AppendInt(dst, u.Reasoning, 10)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// codecEncodeReply appends r as an Anthropic message to a client whose
// request was req.
func codecEncodeReply(dst []byte, r *canon.Reply, req *canon.Request) []byte {
	dst = append(dst, `{"id":`...)
	if r.ID != "" {
		dst = wire.AppendJSONString(dst, r.ID)
	} else {
		dst = append(codecAppendID(append(dst, '"'), "msg_"), '"')
	}
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	model := r.Model
	if model == "" && req != nil {
		model = req.Model
	}
	dst = wire.AppendJSONString(dst, model)
	dst = append(dst, `,"content":[`...)
	n, tool := 0, false
	for i := range r.Parts {
		p := &r.Parts[i]
		mark := len(dst)
		if n > 0 {
			dst = append(dst, ',')
		}
		switch p.Kind {
		case canon.PartText, canon.PartRefusal:
			dst = append(dst, `{"type":"text","text":`...)
			dst = wire.AppendJSONString(dst, p.Text)
			dst = append(dst, '}')
		case canon.PartThinking:
			dst = codecAppendThinking(dst, p)
		case canon.PartToolCall:
			tool = true
			dst = append(dst, `{"type":"tool_use","id":`...)
			dst = codecAppendToolUseID(dst, p.ID)
			dst = append(dst, `,"name":`...)
			dst = wire.AppendJSONString(dst, p.Name)
			dst = append(dst, `,"input":`...)
			dst = codecAppendInput(dst, p.Args)
			dst = append(dst, '}')
		default:
			// Images and documents a model returned (Gemini's inline
			// data) have no place in an Anthropic message.
			dst = dst[:mark]
			continue
		}
		n++
	}
	dst = append(dst, `],"stop_reason":"`...)
	dst = append(dst, codecStopName(&r.Stop, tool)...)
	dst = append(dst, `","stop_sequence":`...)
	dst = codecAppendStopSequence(dst, &r.Stop)
	dst = append(dst, `,"usage":`...)
	dst = codecAppendUsage(dst, &r.Usage, true)
	return append(dst, '}')
}

// codecAppendThinking appends a thinking block (redacted_thinking when
// the part holds opaque data); another vendor's reasoning has an empty
// signature.
func codecAppendThinking(dst []byte, p *canon.Part) []byte {
	if p.Redacted != "" {
		dst = append(dst, `{"type":"redacted_thinking","data":`...)
		dst = wire.AppendJSONString(dst, p.Redacted)
		return append(dst, '}')
	}
	dst = append(dst, `{"type":"thinking","thinking":`...)
	dst = wire.AppendJSONString(dst, p.Text)
	dst = append(dst, `,"signature":`...)
	dst = wire.AppendJSONString(dst, p.Signature)
	return append(dst, '}')
}

// codecAppendToolUseID appends a tool call's id, or a new one when the
// upstream gave none.
func codecAppendToolUseID(dst []byte, id string) []byte {
	if id == "" {
		return append(codecAppendID(append(dst, '"'), "toolu_"), '"')
	}
	return wire.AppendJSONString(dst, id)
}

// codecAppendInput appends a tool call's arguments as its input: {} when
// empty, and arguments that are not a JSON object (a call cut short) as a
// JSON string holding them, so that nothing is lost and the client sees the
// call is malformed.
func codecAppendInput(dst []byte, args string) []byte {
	a := strings.TrimSpace(args)
	switch {
	case a == "":
		return append(dst, "{}"...)
	case a[0] == '{' && gjson.Valid(a):
		return append(dst, a...)
	}
	return wire.AppendJSONString(dst, args)
}

// codecAppendStopSequence appends stop_sequence: the sequence that
// matched, or null.
func codecAppendStopSequence(dst []byte, st *canon.Stop) []byte {
	if st.Reason == canon.StopSequence && st.Sequence != "" {
		return wire.AppendJSONString(dst, st.Sequence)
	}
	return append(dst, "null"...)
}

// codecDecodeError reads an Anthropic error body,
// {"type":"error","error":{"type","message"}}: the error's type decides
// the canonical type where Anthropic documents it, the status otherwise.
func codecDecodeError(status int, body []byte) canon.Error {
	e := canon.Error{Status: status, Type: canon.ErrorTypeOf(status)}
	var res gjson.Result
	if gjson.ValidBytes(body) {
		res = gjson.Parse(wire.StringView(body)).Get("error")
	}
	if !res.IsObject() {
		e.Message = "the upstream answered " + strconv.Itoa(status) + " with a body that is not an Anthropic error"
		return e
	}
	name := res.Get("type").Str
	if t, ok := codecErrorType(name); ok {
		e.Type = t
	}
	e.Code, e.Message = strings.Clone(name), codecStr(res.Get("message"))
	return e
}
