package anthropic

import (
	"strconv"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// codecStreamEncoder writes canonical events as an Anthropic Messages
// stream, the events Anthropic sends and its SDKs read: message_start,
// then per content block content_block_start, content_block_delta... and
// content_block_stop, then message_delta (stop reason and usage) and
// message_stop. SSE event names equal the data's type.
type codecStreamEncoder struct {
	id, model []byte
	// stopSeq holds the stop sequence, copied.
	stopSeq []byte
	usage   canon.Usage
	stop    canon.Stop
	// blocks is how many content blocks were started; open says the last
	// one is open, of kind kind.
	blocks int
	open   bool
	kind   canon.PartKind
	// held: EvStart came and message_start waits for the input usage an
	// EvUsage right after it may bring; started: message_start is out.
	held, started bool
	tool          bool // a tool_use block was written
	done          bool // message_stop or error is out
	stopRaw       bool // stop.Raw is model_context_window_exceeded
}

// codecNewEncoder returns an encoder of one client stream answering req.
func codecNewEncoder(req *canon.Request) canon.StreamEncoder {
	e := &codecStreamEncoder{}
	if req != nil {
		e.model = append(e.model, req.Model...)
	}
	return e
}

// Encode adds the events ev becomes to f.
func (e *codecStreamEncoder) Encode(f *canon.Frames, ev *canon.Event) {
	if e.done {
		return
	}
	switch ev.Kind {
	case canon.EvStart:
		if !e.started {
			if ev.ID != "" {
				e.id = append(e.id[:0], ev.ID...)
			}
			if ev.Model != "" {
				e.model = append(e.model[:0], ev.Model...)
			}
			e.held = true
		}
		return
	case canon.EvUsage:
		e.usage.Merge(&ev.Usage)
		if e.held {
			e.messageStart(f)
		}
		return
	}
	if !e.started {
		e.messageStart(f)
	}
	switch ev.Kind {
	case canon.EvPartStart:
		e.closeBlock(f)
		e.blockStart(f, &ev.Part)
	case canon.EvDelta:
		if e.open {
			e.delta(f, ev)
		}
	case canon.EvPartStop:
		e.closeBlock(f)
	case canon.EvStop:
		e.stop = canon.Stop{Reason: ev.Stop.Reason}
		e.stopSeq = append(e.stopSeq[:0], ev.Stop.Sequence...)
		e.stopRaw = ev.Stop.Raw == "model_context_window_exceeded"
	case canon.EvEnd:
		e.closeBlock(f)
		e.end(f)
	case canon.EvError:
		e.done = true
		b := f.Begin("error")
		b = append(b, `{"type":"error","error":{"type":"`...)
		b = append(b, codecErrorName(ev.Err.Type)...)
		b = append(b, `","message":`...)
		b = wire.AppendJSONString(b, ev.Err.Message)
		f.End(append(b, "}}"...))
	}
}

// messageStart writes message_start: the message with no content yet and
// the usage known so far.
func (e *codecStreamEncoder) messageStart(f *canon.Frames) {
	e.held, e.started = false, true
	b := f.Begin("message_start")
	b = append(b, `{"type":"message_start","message":{"id":`...)
	if len(e.id) > 0 {
		b = wire.AppendJSONString(b, wire.StringView(e.id))
	} else {
		b = append(codecAppendID(append(b, '"'), "msg_"), '"')
	}
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = wire.AppendJSONString(b, wire.StringView(e.model))
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	b = codecAppendUsage(b, &e.usage, true)
	f.End(append(b, "}}"...))
}

// blockStart writes content_block_start for a part, then the text or
// signature its start carried as deltas; a part Anthropic has no block for
// (an image) is left out with its deltas.
func (e *codecStreamEncoder) blockStart(f *canon.Frames, p *canon.Part) {
	kind := p.Kind
	switch kind {
	case canon.PartText, canon.PartRefusal, canon.PartThinking, canon.PartToolCall:
	default:
		return
	}
	b := f.Begin("content_block_start")
	b = append(b, `{"type":"content_block_start","index":`...)
	b = strconv.AppendInt(b, int64(e.blocks), 10)
	b = append(b, `,"content_block":`...)
	switch kind {
	case canon.PartText, canon.PartRefusal:
		kind = canon.PartText
		b = append(b, `{"type":"text","text":""}`...)
	case canon.PartThinking:
		if p.Redacted != "" {
			b = codecAppendThinking(b, p)
		} else {
			b = append(b, `{"type":"thinking","thinking":"","signature":""}`...)
		}
	case canon.PartToolCall:
		e.tool = true
		b = append(b, `{"type":"tool_use","id":`...)
		b = codecAppendToolUseID(b, p.ID)
		b = append(b, `,"name":`...)
		b = wire.AppendJSONString(b, p.Name)
		b = append(b, `,"input":{}}`...)
	}
	f.End(append(b, '}'))
	e.open, e.kind = true, kind
	if p.Redacted != "" {
		return
	}
	if p.Text != "" && kind != canon.PartToolCall {
		e.delta(f, &canon.Event{Text: p.Text})
	}
	if p.Signature != "" && kind == canon.PartThinking {
		e.delta(f, &canon.Event{Signature: p.Signature})
	}
}

// delta writes content_block_delta for the open block: text_delta,
// thinking_delta and signature_delta, or input_json_delta.
func (e *codecStreamEncoder) delta(f *canon.Frames, ev *canon.Event) {
	if ev.Text != "" {
		b := e.deltaHead(f)
		switch e.kind {
		case canon.PartText:
			b = append(b, `"text_delta","text":`...)
		case canon.PartThinking:
			b = append(b, `"thinking_delta","thinking":`...)
		case canon.PartToolCall:
			b = append(b, `"input_json_delta","partial_json":`...)
		}
		b = wire.AppendJSONString(b, ev.Text)
		f.End(append(b, "}}"...))
	}
	if ev.Signature != "" && e.kind == canon.PartThinking {
		b := e.deltaHead(f)
		b = append(b, `"signature_delta","signature":`...)
		b = wire.AppendJSONString(b, ev.Signature)
		f.End(append(b, "}}"...))
	}
}

func (e *codecStreamEncoder) deltaHead(f *canon.Frames) []byte {
	b := f.Begin("content_block_delta")
	b = append(b, `{"type":"content_block_delta","index":`...)
	b = strconv.AppendInt(b, int64(e.blocks), 10)
	return append(b, `,"delta":{"type":`...)
}

// closeBlock writes content_block_stop for the open block, if any.
func (e *codecStreamEncoder) closeBlock(f *canon.Frames) {
	if !e.open {
		return
	}
	e.open = false
	b := f.Begin("content_block_stop")
	b = append(b, `{"type":"content_block_stop","index":`...)
	b = strconv.AppendInt(b, int64(e.blocks), 10)
	f.End(append(b, '}'))
	e.blocks++
}

// end writes message_delta, with the stop reason and the whole usage, and
// message_stop.
func (e *codecStreamEncoder) end(f *canon.Frames) {
	e.done = true
	st := canon.Stop{Reason: e.stop.Reason, Sequence: wire.StringView(e.stopSeq)}
	if e.stopRaw {
		st.Raw = "model_context_window_exceeded"
	}
	b := f.Begin("message_delta")
	b = append(b, `{"type":"message_delta","delta":{"stop_reason":"`...)
	b = append(b, codecStopName(&st, e.tool)...)
	b = append(b, `","stop_sequence":`...)
	b = codecAppendStopSequence(b, &st)
	b = append(b, `},"usage":`...)
	b = codecAppendUsage(b, &e.usage, false)
	f.End(append(b, '}'))
	b = f.Begin("message_stop")
	f.End(append(b, `{"type":"message_stop"}`...))
}
