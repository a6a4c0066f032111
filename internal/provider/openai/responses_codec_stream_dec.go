package openai

import (
	"errors"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// respStreamDecoder reads a Responses stream into canonical events. Each
// output_text or refusal content part, function call and reasoning item
// is a canonical part. A reasoning item's part starts when its
// encrypted_content or its first summary text is known (OpenAI may send
// the encrypted content only at output_item.done, and canon carries
// Redacted only when a part starts), so an encrypted-only item starts and
// stops at its output_item.done. The decoder keeps, per output item, only
// what a later event needs (a function call's id and name, whether a part
// of it started); never the text.
type respStreamDecoder struct {
	started, ended bool
	tool           bool // a function call was seen: completed is a tool stop
	n              int  // canonical parts started

	items []respDecItem // by output_index

	open     bool // a part is open
	openOut  int  // its output_index
	openCont int  // its content_index (message parts), else -1
	openKind canon.PartKind
	sawText  bool // the open part received text
	sawSig   bool // the open thinking part's encrypted content or signature is out
}

// respDecItem is what the decoder keeps of an output item.
type respDecItem struct {
	typ          uint8
	callID, name string // function_call
	parts        bool   // a part of it started
}

// Output item types.
const (
	respItemOther uint8 = iota
	respItemMessage
	respItemCall
	respItemReasoning
)

// respMaxItems bounds the output_index a stream may use.
const respMaxItems = 1 << 14

// respError is an error of the Responses codec, a constant so that its
// name can keep the package's resp prefix.
type respError string

func (e respError) Error() string { return string(e) }

// respErrEvent is an event the decoder cannot read.
const respErrEvent respError = "responses stream event is not a JSON object"

// respEv is what the decoder reads of an event.
type respEv struct {
	typ                    string
	out, cont, sum         int
	delta, text, args, ref gjson.Result
	item, part, response   gjson.Result
	code, message, param   gjson.Result
}

// Decode implements canon.StreamDecoder.
func (d *respStreamDecoder) Decode(name, data []byte, out []canon.Event) ([]canon.Event, error) {
	s := wire.StringView(data)
	if strings.TrimSpace(s) == "" || s == "[DONE]" || d.ended {
		return out, nil
	}
	if !gjson.Valid(s) {
		return out, respErrEvent
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return out, respErrEvent
	}
	ev := respEv{out: -1, cont: -1, sum: -1}
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "type":
			ev.typ = v.Str
		case "output_index":
			ev.out = respIndex(v)
		case "content_index":
			ev.cont = respIndex(v)
		case "summary_index":
			ev.sum = respIndex(v)
		case "delta":
			ev.delta = v
		case "text":
			ev.text = v
		case "arguments":
			ev.args = v
		case "refusal":
			ev.ref = v
		case "item":
			ev.item = v
		case "part":
			ev.part = v
		case "response":
			ev.response = v
		case "code":
			ev.code = v
		case "message":
			ev.message = v
		case "param":
			ev.param = v
		}
		return true
	})
	if ev.typ == "" {
		ev.typ = wire.StringView(name)
	}
	if ev.out >= respMaxItems || ev.cont >= respMaxItems || ev.sum >= respMaxItems {
		return out, errors.New("responses stream event has an output_index out of range")
	}
	if !d.started && ev.typ != "error" {
		d.started = true
		out = append(out, canon.Event{Kind: canon.EvStart, ID: ev.response.Get("id").Str, Model: ev.response.Get("model").Str})
	}
	return d.event(&ev, out), nil
}

// respIndex returns a non-negative integer index (respMaxItems for one
// too large), or -1.
func respIndex(v gjson.Result) int {
	switch {
	case v.Type != gjson.Number || v.Num < 0 || v.Num != float64(int64(v.Num)):
		return -1
	case v.Num >= respMaxItems:
		return respMaxItems
	}
	return int(v.Num)
}

func (d *respStreamDecoder) event(ev *respEv, out []canon.Event) []canon.Event {
	switch ev.typ {
	case "response.output_item.added":
		return d.itemAdded(ev, out)
	case "response.content_part.added":
		kind := canon.PartText
		if ev.part.Get("type").Str == "refusal" {
			kind = canon.PartRefusal
		} else if ev.part.Get("type").Str != "output_text" {
			return out
		}
		out = d.closeOpen(out)
		out = d.startPart(out, ev.out, ev.cont, canon.Part{Kind: kind})
		if t := ev.part.Get("text").Str; t != "" {
			out = d.addText(out, t)
		}
	case "response.output_text.delta", "response.refusal.delta":
		kind := canon.PartText
		if ev.typ == "response.refusal.delta" {
			kind = canon.PartRefusal
		}
		if !d.isOpen(ev.out, ev.cont, kind) {
			out = d.closeOpen(out)
			out = d.startPart(out, ev.out, ev.cont, canon.Part{Kind: kind})
		}
		out = d.addText(out, ev.delta.Str)
	case "response.output_text.done", "response.refusal.done":
		// A server that sends no deltas (or no content_part.added) gives
		// the text here.
		kind, t := canon.PartText, ev.text.Str
		if ev.typ == "response.refusal.done" {
			kind, t = canon.PartRefusal, ev.ref.Str
		}
		if !d.isOpen(ev.out, ev.cont, kind) {
			out = d.closeOpen(out)
			out = d.startPart(out, ev.out, ev.cont, canon.Part{Kind: kind})
		}
		if !d.sawText {
			out = d.addText(out, t)
		}
	case "response.content_part.done":
		if d.open && d.openOut == ev.out && d.openCont == ev.cont {
			out = d.closeOpen(out)
		}
	case "response.function_call_arguments.delta":
		out = d.ensureCall(out, ev.out)
		out = d.addText(out, ev.delta.Str)
	case "response.function_call_arguments.done":
		out = d.ensureCall(out, ev.out)
		if !d.sawText {
			out = d.addText(out, ev.args.Str)
		}
	case "response.reasoning_summary_part.added":
		out = d.ensureThinking(out, ev.out, "")
		if ev.sum > 0 && d.sawText {
			out = d.addText(out, "\n\n")
		}
	case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
		out = d.ensureThinking(out, ev.out, "")
		out = d.addText(out, ev.delta.Str)
	case "response.output_item.done":
		return d.itemDone(ev, out)
	case "response.completed", "response.incomplete":
		out = d.closeOpen(out)
		d.ended = true
		r := ev.response
		stop := respStopOf(r.Get("status").Str, r.Get("incomplete_details.reason").Str, nil)
		if ev.typ == "response.incomplete" && stop.Reason == canon.StopEnd && stop.Raw == "" {
			stop = canon.Stop{Reason: canon.StopLength, Raw: "incomplete"}
		}
		if d.tool && stop.Reason == canon.StopEnd {
			stop.Reason = canon.StopTool
		}
		out = append(out, canon.Event{Kind: canon.EvStop, Stop: stop})
		var u canon.Usage
		if respReadUsage(r.Get("usage"), &u); u.Valid {
			out = append(out, canon.Event{Kind: canon.EvUsage, Usage: u})
		}
		out = append(out, canon.Event{Kind: canon.EvEnd})
	case "response.failed":
		d.ended = true
		e := ev.response.Get("error")
		out = append(out, canon.Event{Kind: canon.EvError, Err: respStreamError(e.Get("code").Str, e.Get("message").Str, "")})
	case "error":
		d.ended = true
		out = append(out, canon.Event{Kind: canon.EvError, Err: respStreamError(ev.code.Str, ev.message.Str, ev.param.Str)})
	}
	return out
}

// item returns the kept state of output item i (nil: no index).
func (d *respStreamDecoder) item(i int) *respDecItem {
	if i < 0 {
		return nil
	}
	for len(d.items) <= i {
		d.items = append(d.items, respDecItem{})
	}
	return &d.items[i]
}

func (d *respStreamDecoder) isOpen(o, c int, kind canon.PartKind) bool {
	return d.open && d.openOut == o && d.openCont == c && d.openKind == kind
}

func (d *respStreamDecoder) startPart(out []canon.Event, o, c int, p canon.Part) []canon.Event {
	d.open, d.openOut, d.openCont, d.openKind = true, o, c, p.Kind
	d.sawText, d.sawSig = false, p.Redacted != "" || p.Signature != ""
	if it := d.item(o); it != nil {
		it.parts = true
	}
	if p.Kind == canon.PartToolCall {
		d.tool = true
	}
	out = append(out, canon.Event{Kind: canon.EvPartStart, Index: d.n, Part: p})
	d.n++
	return out
}

func (d *respStreamDecoder) addText(out []canon.Event, t string) []canon.Event {
	if !d.open || t == "" {
		return out
	}
	d.sawText = true
	return append(out, canon.Event{Kind: canon.EvDelta, Index: d.n - 1, Text: t})
}

func (d *respStreamDecoder) closeOpen(out []canon.Event) []canon.Event {
	if !d.open {
		return out
	}
	d.open = false
	return append(out, canon.Event{Kind: canon.EvPartStop, Index: d.n - 1})
}

// ensureCall makes the function call at output index o the open part.
func (d *respStreamDecoder) ensureCall(out []canon.Event, o int) []canon.Event {
	if d.isOpen(o, -1, canon.PartToolCall) {
		return out
	}
	out = d.closeOpen(out)
	p := canon.Part{Kind: canon.PartToolCall}
	if it := d.item(o); it != nil {
		p.ID, p.Name = it.callID, it.name
	}
	return d.startPart(out, o, -1, p)
}

// ensureThinking makes the reasoning item at output index o the open part,
// starting it with encrypted content enc.
func (d *respStreamDecoder) ensureThinking(out []canon.Event, o int, enc string) []canon.Event {
	if d.isOpen(o, -1, canon.PartThinking) {
		return out
	}
	out = d.closeOpen(out)
	p := canon.Part{Kind: canon.PartThinking}
	respSetEncrypted(&p, enc)
	return d.startPart(out, o, -1, p)
}

// respSetEncrypted sets a thinking part's Signature (marked) or Redacted
// from an encrypted_content.
func respSetEncrypted(p *canon.Part, enc string) {
	if enc == "" {
		return
	}
	if sig, ok := strings.CutPrefix(enc, respSigPrefix); ok {
		p.Signature = sig
	} else {
		p.Redacted = enc
	}
}

func (d *respStreamDecoder) itemAdded(ev *respEv, out []canon.Event) []canon.Event {
	it := d.item(ev.out)
	if it == nil {
		return out
	}
	*it = respDecItem{}
	switch ev.item.Get("type").Str {
	case "message":
		it.typ = respItemMessage
	case "function_call":
		it.typ = respItemCall
		it.callID, it.name = respStr(ev.item.Get("call_id")), respStr(ev.item.Get("name"))
		out = d.ensureCall(out, ev.out)
		out = d.addText(out, ev.item.Get("arguments").Str)
	case "reasoning":
		it.typ = respItemReasoning
		if enc := ev.item.Get("encrypted_content").Str; enc != "" {
			out = d.ensureThinking(out, ev.out, enc)
		}
	}
	return out
}

func (d *respStreamDecoder) itemDone(ev *respEv, out []canon.Event) []canon.Event {
	it := d.item(ev.out)
	if it == nil {
		return d.closeOpen(out)
	}
	item := ev.item
	switch item.Get("type").Str {
	case "function_call":
		if it.callID == "" {
			it.callID, it.name = respStr(item.Get("call_id")), respStr(item.Get("name"))
		}
		if d.isOpen(ev.out, -1, canon.PartToolCall) || !it.parts {
			out = d.ensureCall(out, ev.out)
			if !d.sawText {
				out = d.addText(out, item.Get("arguments").Str)
			}
		}
	case "message":
		if d.open && d.openOut == ev.out {
			break
		}
		if !it.parts { // a server that sends whole items only
			c := -1
			item.Get("content").ForEach(func(_, part gjson.Result) bool {
				c++
				kind, text := canon.PartText, part.Get("text").Str
				switch part.Get("type").Str {
				case "refusal":
					kind, text = canon.PartRefusal, part.Get("refusal").Str
				case "output_text":
				default:
					return true
				}
				out = d.closeOpen(out)
				out = d.startPart(out, ev.out, c, canon.Part{Kind: kind})
				out = d.addText(out, text)
				return true
			})
		}
	case "reasoning":
		enc := item.Get("encrypted_content").Str
		if !d.isOpen(ev.out, -1, canon.PartThinking) && it.parts {
			break // closed already
		}
		out = d.ensureThinking(out, ev.out, enc)
		if !d.sawText {
			it := respItem{summary: item.Get("summary"), content: item.Get("content")}
			if p, err := respDecodeReasoningItem(&it, 0); err == nil {
				out = d.addText(out, p.Text)
			}
		}
		if !d.sawSig && strings.HasPrefix(enc, respSigPrefix) {
			// A signature that came only now is a delta; OpenAI's own
			// encrypted content that came only now, after the summary
			// streamed, has no canonical event (Redacted rides on a
			// part's start) and is dropped.
			d.sawSig = true
			out = append(out, canon.Event{Kind: canon.EvDelta, Index: d.n - 1, Signature: enc[len(respSigPrefix):]})
		}
	}
	return d.closeOpen(out)
}
