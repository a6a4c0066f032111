package anthropic

import (
	"errors"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// codecErrEvent is a stream event that is not a JSON object.
var codecErrEvent = errors.New("anthropic: stream event is not a JSON object")

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
		return out, codecErrEvent
	}
	ev := gjson.Parse(wire.StringView(data))
	if !ev.IsObject() {
		return out, codecErrEvent
	}
	typ := ev.Get("type").Str
	if typ == "" {
		typ = wire.StringView(name)
	}
	switch typ {
	case "message_start":
		m := ev.Get("message")
		if d.started {
			return out, nil
		}
		d.started = true
		out = append(out, canon.Event{Kind: canon.EvStart, ID: m.Get("id").Str, Model: m.Get("model").Str})
		if u := m.Get("usage"); u.IsObject() {
			out = append(out, canon.Event{Kind: canon.EvUsage})
			codecReadUsage(u, &out[len(out)-1].Usage)
		}
	case "content_block_start":
		out = d.start(out)
		out = d.blockStart(ev, out)
	case "content_block_delta":
		idx := int(ev.Get("index").Int())
		if idx < 0 || idx+1 != d.open {
			return out, nil
		}
		ci := d.parts[idx] - 1
		delta := ev.Get("delta")
		e := canon.Event{Kind: canon.EvDelta, Index: ci}
		switch delta.Get("type").Str {
		case "text_delta":
			e.Text = delta.Get("text").Str
		case "input_json_delta":
			e.Text = delta.Get("partial_json").Str
		case "thinking_delta":
			e.Text = delta.Get("thinking").Str
		case "signature_delta":
			e.Signature = delta.Get("signature").Str
		default:
			// citations_delta: citations are dropped.
			return out, nil
		}
		out = append(out, e)
	case "content_block_stop":
		if idx := int(ev.Get("index").Int()); idx >= 0 && idx+1 == d.open {
			out = d.stop(out)
		}
	case "message_delta":
		out = d.start(out)
		out = d.stop(out)
		delta := ev.Get("delta")
		if sr := delta.Get("stop_reason"); sr.Type == gjson.String {
			st := canon.Stop{Reason: codecStopReason(sr.Str), Raw: sr.Str}
			if st.Reason == canon.StopSequence {
				st.Sequence = delta.Get("stop_sequence").Str
			}
			out = append(out, canon.Event{Kind: canon.EvStop, Stop: st})
		}
		if u := ev.Get("usage"); u.IsObject() {
			out = append(out, canon.Event{Kind: canon.EvUsage})
			codecReadUsage(u, &out[len(out)-1].Usage)
		}
	case "message_stop":
		out = d.start(out)
		out = d.stop(out)
		d.ended = true
		out = append(out, canon.Event{Kind: canon.EvEnd})
	case "error":
		d.ended = true
		out = append(out, canon.Event{Kind: canon.EvError, Err: codecStreamError(ev.Get("error"))})
	}
	return out, nil
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
func (d *codecStreamDecoder) blockStart(ev gjson.Result, out []canon.Event) []canon.Event {
	idx := int(ev.Get("index").Int())
	if idx < 0 || idx >= codecMaxBlocks {
		return out
	}
	cb := ev.Get("content_block")
	var p canon.Part
	var input string
	switch cb.Get("type").Str {
	case "text":
		p = canon.Part{Kind: canon.PartText, Text: cb.Get("text").Str}
	case "thinking":
		p = canon.Part{Kind: canon.PartThinking, Text: cb.Get("thinking").Str, Signature: cb.Get("signature").Str}
	case "redacted_thinking":
		p = canon.Part{Kind: canon.PartThinking, Redacted: cb.Get("data").Str}
	case "tool_use":
		p = canon.Part{Kind: canon.PartToolCall, ID: cb.Get("id").Str, Name: cb.Get("name").Str}
		// The input comes as deltas after an empty {}; one given whole
		// here becomes the first delta.
		if in := cb.Get("input"); in.IsObject() && codecHasMembers(in) {
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
