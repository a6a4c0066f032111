package openai

import (
	"strconv"
	"strings"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// respStreamEncoder writes canonical events as a Responses stream: the
// event sequence OpenAI sends, each event named in the SSE event field and
// in its JSON type, numbered by sequence_number from 0.
//
//	response.created, response.in_progress
//	per message item (a run of text and refusal parts):
//	  response.output_item.added
//	  per part: response.content_part.added,
//	    response.output_text.delta… (response.refusal.delta…),
//	    response.output_text.done (response.refusal.done),
//	    response.content_part.done
//	  response.output_item.done
//	per thinking part: response.output_item.added (reasoning),
//	  [response.reasoning_summary_part.added,
//	   response.reasoning_summary_text.delta…,
//	   response.reasoning_summary_text.done,
//	   response.reasoning_summary_part.done] (when it has text),
//	  response.output_item.done (with encrypted_content)
//	per tool call: response.output_item.added (function_call),
//	  response.function_call_arguments.delta…,
//	  response.function_call_arguments.done, response.output_item.done
//	response.completed, or response.incomplete
//
// The final event carries the whole response, output and usage included,
// so the encoder keeps the reply's texts as they stream (bounded by the
// reply; the format requires it). An EvError becomes an error event and
// then response.failed.
type respStreamEncoder struct {
	req *canon.Request
	now func() int64

	seq             int64
	id, body, model string
	created         int64
	started, ended  bool

	parts []canon.Part // the output so far; the open part's text is in buf
	buf   []byte
	cur   int // the open part's index in parts; -1: none

	idx      int  // the current output item's index
	msgOpen  bool // a message item is open
	msgFirst int  // its first part
	content  int  // the open part's content_index in it
	summary  bool // the open thinking part's summary part was added

	stop  canon.Stop
	usage canon.Usage
}

func respNewStreamEncoder(req *canon.Request, now func() int64) *respStreamEncoder {
	return &respStreamEncoder{req: req, now: now, cur: -1, idx: -1}
}

// Encode implements canon.StreamEncoder.
func (e *respStreamEncoder) Encode(f *canon.Frames, ev *canon.Event) {
	if e.ended {
		return
	}
	if !e.started && ev.Kind != canon.EvStart {
		e.start(f, "", "")
	}
	switch ev.Kind {
	case canon.EvStart:
		if !e.started {
			e.start(f, ev.ID, ev.Model)
		}
	case canon.EvPartStart:
		e.partStart(f, &ev.Part)
	case canon.EvDelta:
		e.delta(f, ev.Text, ev.Signature)
	case canon.EvPartStop:
		e.partStop(f)
	case canon.EvStop:
		e.stop = ev.Stop
	case canon.EvUsage:
		e.usage.Merge(&ev.Usage)
	case canon.EvEnd:
		e.partStop(f)
		e.closeMessage(f)
		status, reason := respStatusOf(e.stop.Reason)
		name := "response.completed"
		if status == "incomplete" {
			name = "response.incomplete"
		}
		e.final(f, name, status, reason, nil)
	case canon.EvError:
		e.commit()
		b := e.begin(f, "error")
		b = append(b, `,"code":`...)
		b = wire.AppendJSONString(b, respErrorCode(&ev.Err))
		b = append(b, `,"message":`...)
		b = wire.AppendJSONString(b, ev.Err.Message)
		b = append(b, `,"param":`...)
		b = respAppendOrNull(b, ev.Err.Param)
		e.end(f, b)
		e.final(f, "response.failed", "failed", "", &ev.Err)
	}
}

func (e *respStreamEncoder) start(f *canon.Frames, id, model string) {
	e.started = true
	if id == "" {
		e.id = respNewID()
	} else {
		e.id = strings.Clone(id)
	}
	e.body = respIDBody(e.id)
	if model == "" && e.req != nil {
		model = e.req.Model
	}
	e.model = strings.Clone(model)
	e.created = e.now()
	o := respResp{id: e.id, model: e.model, created: e.created, status: "in_progress", req: e.req}
	for _, name := range [...]string{"response.created", "response.in_progress"} {
		b := e.begin(f, name)
		b = append(b, `,"response":`...)
		b = respAppendResponse(b, &o)
		e.end(f, b)
	}
}

// final writes the event that ends the stream, carrying the response.
func (e *respStreamEncoder) final(f *canon.Frames, name, status, reason string, err *canon.Error) {
	e.ended = true
	o := respResp{id: e.id, model: e.model, created: e.created, status: status, reason: reason, err: err,
		parts: e.parts, usage: &e.usage, req: e.req}
	b := e.begin(f, name)
	b = append(b, `,"response":`...)
	b = respAppendResponse(b, &o)
	e.end(f, b)
}

// begin starts event name: its type and sequence_number.
func (e *respStreamEncoder) begin(f *canon.Frames, name string) []byte {
	b := f.Begin(name)
	b = append(b, `{"type":"`...)
	b = append(b, name...)
	b = append(b, `","sequence_number":`...)
	b = strconv.AppendInt(b, e.seq, 10)
	e.seq++
	return b
}

func (e *respStreamEncoder) end(f *canon.Frames, b []byte) { f.End(append(b, '}')) }

// loc appends the fields that place an event in the output: item_id,
// output_index and, in a message, content_index.
func (e *respStreamEncoder) loc(b []byte) []byte {
	b = append(b, `,"item_id":`...)
	p := &e.parts[e.cur]
	switch p.Kind {
	case canon.PartThinking:
		b = respAppendReasoningID(b, p, e.body, e.idx)
	case canon.PartToolCall:
		b = respAppendItemID(b, "fc_", e.body, e.idx)
	default:
		b = respAppendItemID(b, "msg_", e.body, e.idx)
	}
	b = append(b, `,"output_index":`...)
	b = strconv.AppendInt(b, int64(e.idx), 10)
	if respInMessage(p.Kind) {
		b = append(b, `,"content_index":`...)
		b = strconv.AppendInt(b, int64(e.content), 10)
	}
	return b
}

func (e *respStreamEncoder) partStart(f *canon.Frames, p *canon.Part) {
	e.partStop(f)
	switch p.Kind {
	case canon.PartText, canon.PartRefusal:
		if !e.msgOpen {
			e.idx++
			e.msgOpen, e.msgFirst, e.content = true, len(e.parts), -1
			b := e.begin(f, "response.output_item.added")
			b = append(b, `,"output_index":`...)
			b = strconv.AppendInt(b, int64(e.idx), 10)
			b = append(b, `,"item":`...)
			b = respAppendMessageItem(b, e.body, e.idx, nil, "in_progress")
			e.end(f, b)
		}
		e.content++
		e.parts = append(e.parts, canon.Part{Kind: p.Kind})
		e.cur = len(e.parts) - 1
		b := e.begin(f, "response.content_part.added")
		b = e.loc(b)
		b = append(b, `,"part":`...)
		b = respAppendOutputPart(b, p.Kind, "")
		e.end(f, b)
	case canon.PartThinking, canon.PartToolCall:
		e.closeMessage(f)
		e.idx++
		e.summary = false
		e.parts = append(e.parts, canon.Part{Kind: p.Kind, ID: strings.Clone(p.ID), Name: strings.Clone(p.Name),
			Redacted: strings.Clone(p.Redacted), Signature: strings.Clone(p.Signature)})
		e.cur = len(e.parts) - 1
		b := e.begin(f, "response.output_item.added")
		b = append(b, `,"output_index":`...)
		b = strconv.AppendInt(b, int64(e.idx), 10)
		b = append(b, `,"item":`...)
		if p.Kind == canon.PartThinking {
			b = respAppendReasoningItem(b, &e.parts[e.cur], e.body, e.idx, "", false)
		} else {
			b = respAppendCallItem(b, &e.parts[e.cur], e.body, e.idx, "", false)
		}
		e.end(f, b)
	default:
		return // images and documents have no place in a reply's output
	}
	if p.Text != "" {
		e.delta(f, p.Text, "")
	}
}

func (e *respStreamEncoder) delta(f *canon.Frames, text, sig string) {
	if e.cur < 0 {
		return
	}
	p := &e.parts[e.cur]
	if sig != "" && p.Kind == canon.PartThinking {
		p.Signature += sig
	}
	if text == "" {
		return
	}
	e.buf = append(e.buf, text...)
	var b []byte
	switch p.Kind {
	case canon.PartText:
		b = e.begin(f, "response.output_text.delta")
		b = e.loc(b)
		b = append(b, `,"delta":`...)
		b = wire.AppendJSONString(b, text)
		b = append(b, `,"logprobs":[]`...)
	case canon.PartRefusal:
		b = e.begin(f, "response.refusal.delta")
		b = e.loc(b)
		b = append(b, `,"delta":`...)
		b = wire.AppendJSONString(b, text)
	case canon.PartThinking:
		if !e.summary {
			e.summary = true
			b = e.begin(f, "response.reasoning_summary_part.added")
			b = e.loc(b)
			b = append(b, `,"summary_index":0,"part":{"type":"summary_text","text":""}`...)
			e.end(f, b)
		}
		b = e.begin(f, "response.reasoning_summary_text.delta")
		b = e.loc(b)
		b = append(b, `,"summary_index":0,"delta":`...)
		b = wire.AppendJSONString(b, text)
	case canon.PartToolCall:
		b = e.begin(f, "response.function_call_arguments.delta")
		b = e.loc(b)
		b = append(b, `,"delta":`...)
		b = wire.AppendJSONString(b, text)
	}
	e.end(f, b)
}

// commit moves the open part's text out of buf.
func (e *respStreamEncoder) commit() {
	if e.cur < 0 {
		return
	}
	p := &e.parts[e.cur]
	if p.Kind == canon.PartToolCall {
		p.Args = string(e.buf)
	} else {
		p.Text = string(e.buf)
	}
	e.buf = e.buf[:0]
}

func (e *respStreamEncoder) partStop(f *canon.Frames) {
	if e.cur < 0 {
		return
	}
	e.commit()
	p := &e.parts[e.cur]
	var b []byte
	switch p.Kind {
	case canon.PartText:
		b = e.begin(f, "response.output_text.done")
		b = e.loc(b)
		b = append(b, `,"text":`...)
		b = wire.AppendJSONString(b, p.Text)
		b = append(b, `,"logprobs":[]`...)
		e.end(f, b)
		e.contentDone(f, p)
	case canon.PartRefusal:
		b = e.begin(f, "response.refusal.done")
		b = e.loc(b)
		b = append(b, `,"refusal":`...)
		b = wire.AppendJSONString(b, p.Text)
		e.end(f, b)
		e.contentDone(f, p)
	case canon.PartThinking:
		if e.summary {
			b = e.begin(f, "response.reasoning_summary_text.done")
			b = e.loc(b)
			b = append(b, `,"summary_index":0,"text":`...)
			b = wire.AppendJSONString(b, p.Text)
			e.end(f, b)
			b = e.begin(f, "response.reasoning_summary_part.done")
			b = e.loc(b)
			b = append(b, `,"summary_index":0,"part":{"type":"summary_text","text":`...)
			b = wire.AppendJSONString(b, p.Text)
			b = append(b, '}')
			e.end(f, b)
		}
		b = e.begin(f, "response.output_item.done")
		b = append(b, `,"output_index":`...)
		b = strconv.AppendInt(b, int64(e.idx), 10)
		b = append(b, `,"item":`...)
		b = respAppendReasoningItem(b, p, e.body, e.idx, p.Text, true)
		e.end(f, b)
	case canon.PartToolCall:
		b = e.begin(f, "response.function_call_arguments.done")
		b = e.loc(b)
		b = append(b, `,"name":`...)
		b = wire.AppendJSONString(b, p.Name)
		b = append(b, `,"arguments":`...)
		b = wire.AppendJSONString(b, p.Args)
		e.end(f, b)
		b = e.begin(f, "response.output_item.done")
		b = append(b, `,"output_index":`...)
		b = strconv.AppendInt(b, int64(e.idx), 10)
		b = append(b, `,"item":`...)
		b = respAppendCallItem(b, p, e.body, e.idx, p.Args, true)
		e.end(f, b)
	}
	e.cur = -1
}

func (e *respStreamEncoder) contentDone(f *canon.Frames, p *canon.Part) {
	b := e.begin(f, "response.content_part.done")
	b = e.loc(b)
	b = append(b, `,"part":`...)
	b = respAppendOutputPart(b, p.Kind, p.Text)
	e.end(f, b)
}

// closeMessage ends the open message item.
func (e *respStreamEncoder) closeMessage(f *canon.Frames) {
	if !e.msgOpen {
		return
	}
	e.msgOpen = false
	b := e.begin(f, "response.output_item.done")
	b = append(b, `,"output_index":`...)
	b = strconv.AppendInt(b, int64(e.idx), 10)
	b = append(b, `,"item":`...)
	b = respAppendMessageItem(b, e.body, e.idx, e.parts[e.msgFirst:], "completed")
	e.end(f, b)
}
