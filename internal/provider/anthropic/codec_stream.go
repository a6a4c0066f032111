package anthropic

import (
	"errors"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// errCodecEvent is a stream event that is not a JSON object.
var errCodecEvent = errors.New("anthropic: stream event is not a JSON object")

// codecMaxBlocks bounds the content block indexes a stream may use: a
// decoder keeps one int per index.
const codecMaxBlocks = 1 << 12

// codecStreamDecoder reads an Anthropic upstream's Messages stream into
// canonical events. The strings of the events it appends are views into the
// event's data (or gjson's unescaped copies), valid until the next call.
type codecStreamDecoder struct {
	// parts maps a content block's index to its canonical part's index
	// plus one; 0: a block not started or skipped (a server tool's).
	parts []int
	// next is the index of the next canonical part.
	next int
	// open is the upstream index of the open block plus one; 0: none.
	open    int
	started bool
	ended   bool
}

// Decode appends the canonical events one upstream event says. Unknown
// event types and ping append nothing, as Anthropic asks of clients;
// content blocks of server tools are skipped whole.
func (d *codecStreamDecoder) Decode(name, data []byte, out []canon.Event) ([]canon.Event, error) {
	if d.ended {
		return out, nil
	}
	if !gjson.ValidBytes(data) {
		return out, errCodecEvent
	}
	ev := gjson.Parse(wire.StringView(data))
	if !ev.IsObject() {
		return out, errCodecEvent
	}
	// One pass over the event's members.
	var typ, index, delta, block, message, usage, errObj gjson.Result
	ev.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "type":
			typ = v
		case "index":
			index = v
		case "delta":
			delta = v
		case "content_block":
			block = v
		case "message":
			message = v
		case "usage":
			usage = v
		case "error":
			errObj = v
		}
		return true
	})
	switch codecEventType(typ, name) {
	case "content_block_delta":
		idx := int(index.Int())
		if idx < 0 || idx+1 != d.open {
			return out, nil
		}
		var f codecFields
		codecReadFields(delta, &f)
		e := canon.Event{Kind: canon.EvDelta, Index: d.parts[idx] - 1}
		switch f.typ.Str {
		case "text_delta":
			e.Text = f.text.Str
		case "input_json_delta":
			e.Text = f.partialJSON.Str
		case "thinking_delta":
			e.Text = f.thinking.Str
		case "signature_delta":
			e.Signature = f.signature.Str
		}
		// Anything else (citations_delta: citations are dropped) and
		// empty fragments say nothing.
		if e.Text != "" || e.Signature != "" {
			out = append(out, e)
		}
	case "content_block_start":
		out = d.start(out)
		out = d.blockStart(int(index.Int()), block, out)
	case "content_block_stop":
		if idx := int(index.Int()); idx >= 0 && idx+1 == d.open {
			out = d.stop(out)
		}
	case "message_start":
		if d.started {
			return out, nil
		}
		d.started = true
		var f codecFields
		codecReadFields(message, &f)
		out = append(out, canon.Event{Kind: canon.EvStart, ID: f.id.Str, Model: message.Get("model").Str})
		if u := message.Get("usage"); u.IsObject() {
			out = append(out, canon.Event{Kind: canon.EvUsage})
			codecReadUsage(u, &out[len(out)-1].Usage)
		}
	case "message_delta":
		out = d.start(out)
		out = d.stop(out)
		var f codecFields
		codecReadFields(delta, &f)
		if f.stopReason.Type == gjson.String {
			st := canon.Stop{Reason: codecStopReason(f.stopReason.Str), Raw: f.stopReason.Str}
			if st.Reason == canon.StopSequence {
				st.Sequence = f.stopSequence.Str
			}
			out = append(out, canon.Event{Kind: canon.EvStop, Stop: st})
		}
		if usage.IsObject() {
			out = append(out, canon.Event{Kind: canon.EvUsage})
			codecReadUsage(usage, &out[len(out)-1].Usage)
		}
	case "message_stop":
		out = d.start(out)
		out = d.stop(out)
		d.ended = true
		out = append(out, canon.Event{Kind: canon.EvEnd})
	case "error":
		d.ended = true
		out = append(out, canon.Event{Kind: canon.EvError, Err: codecStreamError(errObj)})
	}
	return out, nil
}

// codecEventType returns an event's type: its data's "type", else its SSE
// event name.
func codecEventType(typ gjson.Result, name []byte) string {
	if typ.Type == gjson.String && typ.Str != "" {
		return typ.Str
	}
	return wire.StringView(name)
}

// start opens the canonical stream if the upstream's did not start with
// message_start.
func (d *codecStreamDecoder) start(out []canon.Event) []canon.Event {
	if d.started {
		return out
	}
	d.started = true
	return append(out, canon.Event{Kind: canon.EvStart})
}

// stop closes the open part, if any.
func (d *codecStreamDecoder) stop(out []canon.Event) []canon.Event {
	if d.open == 0 {
		return out
	}
	out = append(out, canon.Event{Kind: canon.EvPartStop, Index: d.parts[d.open-1] - 1})
	d.open = 0
	return out
}

// blockStart opens the part a content_block_start starts (closing one left
// open: canonical parts do not overlap).
func (d *codecStreamDecoder) blockStart(idx int, cb gjson.Result, out []canon.Event) []canon.Event {
	if idx < 0 || idx >= codecMaxBlocks {
		return out
	}
	var f codecFields
	codecReadFields(cb, &f)
	var p canon.Part
	var input string
	switch f.typ.Str {
	case "text":
		p = canon.Part{Kind: canon.PartText, Text: f.text.Str}
	case "thinking":
		p = canon.Part{Kind: canon.PartThinking, Text: f.thinking.Str, Signature: f.signature.Str}
	case "redacted_thinking":
		p = canon.Part{Kind: canon.PartThinking, Redacted: f.data.Str}
	case "tool_use":
		p = canon.Part{Kind: canon.PartToolCall, ID: f.id.Str, Name: f.name.Str}
		// The input comes as deltas after an empty {}; one given whole
		// here becomes the first delta.
		if in := f.input; in.IsObject() && codecHasMembers(in) {
			input = in.Raw
		}
	default:
		return out
	}
	out = d.stop(out)
	for len(d.parts) <= idx {
		d.parts = append(d.parts, 0)
	}
	ci := d.next
	d.next++
	d.parts[idx], d.open = ci+1, idx+1
	sig := p.Signature
	p.Signature = ""
	out = append(out, canon.Event{Kind: canon.EvPartStart, Index: ci, Part: p})
	if input != "" {
		out = append(out, canon.Event{Kind: canon.EvDelta, Index: ci, Text: input})
	}
	if sig != "" {
		out = append(out, canon.Event{Kind: canon.EvDelta, Index: ci, Signature: sig})
	}
	return out
}

// codecHasMembers reports whether an object has a member.
func codecHasMembers(obj gjson.Result) bool {
	has := false
	obj.ForEach(func(_, _ gjson.Result) bool {
		has = true
		return false
	})
	return has
}

// codecStreamError reads a stream's error event's error object; its
// status is the one its type implies (529 for overloaded_error).
func codecStreamError(res gjson.Result) canon.Error {
	name := res.Get("type").Str
	t, ok := codecErrorType(name)
	if !ok {
		t = canon.ErrAPI
	}
	status := codecErrorTypes[t].status
	if name == "billing_error" {
		status = 402
	}
	return canon.Error{Status: status, Type: t, Message: res.Get("message").Str, Code: name}
}
