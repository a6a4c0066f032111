package openai

import (
	"strconv"
	"strings"
	"time"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/sse"
)

// chatStreamEncoder writes canonical events as the chunks OpenAI sends: a
// first chunk with delta {"role":"assistant","content":"","refusal":null};
// content, refusal and reasoning_content deltas; for a tool call, a delta
// with its index, id, type and name (arguments "") and then one per
// arguments fragment; the finish_reason chunk with an empty delta; the
// usage chunk (choices []) only when the client asked for it
// (stream_options.include_usage), in which case every other chunk carries
// "usage":null; and data: [DONE]. Every chunk has id, object, created
// and model. An error ends the stream with {"error":{...}} as OpenAI's own
// stream errors look, without [DONE]. Thinking signatures, redacted
// thinking and parts of other kinds (images) are dropped.
type chatStreamEncoder struct {
	includeUsage bool
	model        string // the request's model, for a stream that names none
	now          func() time.Time

	head                     []byte // every chunk's start, up to "choices":[
	started, finished, ended bool
	open                     canon.PartKind
	calls                    []string // the ids of the tool calls started, by index
	tool                     int      // the index of the open tool call
	stop                     canon.Stop
	usage                    canon.Usage
}

// chatNewStreamEncoder returns the encoder of a stream answering req; now
// is the clock that dates it (nil: time.Now).
func chatNewStreamEncoder(req *canon.Request, now func() time.Time) *chatStreamEncoder {
	if now == nil {
		now = time.Now
	}
	e := &chatStreamEncoder{now: now}
	if req != nil {
		e.includeUsage, e.model = req.IncludeUsage, req.Model
	}
	return e
}

func (e *chatStreamEncoder) Encode(f *canon.Frames, ev *canon.Event) {
	if e.ended {
		return
	}
	switch ev.Kind {
	case canon.EvStart:
		e.start(f, ev.ID, ev.Model)
	case canon.EvPartStart:
		e.start(f, "", "")
		e.open = ev.Part.Kind
		switch ev.Part.Kind {
		case canon.PartToolCall:
			e.startCall(f, &ev.Part)
		case canon.PartText, canon.PartThinking, canon.PartRefusal:
			e.text(f, ev.Part.Text)
		}
	case canon.EvDelta:
		e.start(f, "", "")
		if e.open == canon.PartToolCall && ev.Text != "" {
			b := e.deltaStart(f)
			b = append(b, `{"tool_calls":[{"index":`...)
			b = strconv.AppendInt(b, int64(e.tool), 10)
			b = append(b, `,"function":{"arguments":`...)
			b = wire.AppendJSONString(b, ev.Text)
			b = append(b, "}}]}"...)
			e.deltaEnd(f, b)
			return
		}
		e.text(f, ev.Text)
	case canon.EvPartStop:
		e.open = 0
	case canon.EvStop:
		e.start(f, "", "")
		e.stop = ev.Stop
		e.finish(f)
	case canon.EvUsage:
		e.usage.Merge(&ev.Usage)
	case canon.EvEnd:
		e.start(f, "", "")
		e.finish(f)
		if e.includeUsage {
			b := f.Begin("")
			b = append(b, e.head...)
			b = append(b, `],"usage":`...)
			b = chatAppendUsage(b, &e.usage)
			f.End(append(b, '}'))
		}
		f.End(append(f.Begin(""), sse.DoneData...))
		e.ended = true
	case canon.EvError:
		f.End(chatAppendError(f.Begin(""), &ev.Err))
		e.ended = true
	}
}

// start writes the first chunk, once: the head every chunk shares, then
// the role delta.
func (e *chatStreamEncoder) start(f *canon.Frames, id, model string) {
	if e.started {
		return
	}
	e.started = true
	if model == "" {
		model = e.model
	}
	h := append(e.head[:0], `{"id":`...)
	if id != "" {
		h = wire.AppendJSONString(h, id)
	} else {
		h = append(h, `"chatcmpl-`...)
		h = strconv.AppendInt(h, e.now().UnixNano(), 36)
		h = append(h, '"')
	}
	h = append(h, `,"object":"chat.completion.chunk","created":`...)
	h = strconv.AppendInt(h, e.now().Unix(), 10)
	h = append(h, `,"model":`...)
	h = wire.AppendJSONString(h, model)
	e.head = append(h, `,"choices":[`...)
	b := e.deltaStart(f)
	b = append(b, `{"role":"assistant","content":"","refusal":null}`...)
	e.deltaEnd(f, b)
}

// startCall writes the first chunk of a tool call: its index, id, type
// and name. A part that continues a call an earlier part started (a
// decoder reopens a call whose fragments came interleaved with another's)
// continues that call's index instead, as OpenAI's own streams may.
func (e *chatStreamEncoder) startCall(f *canon.Frames, p *canon.Part) {
	if p.ID != "" {
		for i, id := range e.calls {
			if id == p.ID {
				e.tool = i
				return
			}
		}
	}
	e.tool = len(e.calls)
	e.calls = append(e.calls, strings.Clone(p.ID))
	b := e.deltaStart(f)
	b = append(b, `{"tool_calls":[`...)
	b = chatAppendToolCall(b, p, e.tool)
	b = append(b, "]}"...)
	e.deltaEnd(f, b)
}

// text writes a delta of the open text, thinking or refusal part.
func (e *chatStreamEncoder) text(f *canon.Frames, s string) {
	if s == "" {
		return
	}
	var key string
	switch e.open {
	case canon.PartText:
		key = `{"content":`
	case canon.PartThinking:
		key = `{"reasoning_content":`
	case canon.PartRefusal:
		key = `{"refusal":`
	default:
		return
	}
	b := e.deltaStart(f)
	b = append(b, key...)
	b = wire.AppendJSONString(b, s)
	e.deltaEnd(f, append(b, '}'))
}

// finish writes the finish_reason chunk, once.
func (e *chatStreamEncoder) finish(f *canon.Frames) {
	if e.finished {
		return
	}
	e.finished = true
	b := f.Begin("")
	b = append(b, e.head...)
	b = append(b, `{"index":0,"delta":{},"logprobs":null,"finish_reason":"`...)
	b = append(b, chatFinishReason(e.stop, len(e.calls) > 0)...)
	b = append(b, `"}]`...)
	e.close(f, b)
}

// deltaStart begins a chunk of one choice, up to its delta.
func (e *chatStreamEncoder) deltaStart(f *canon.Frames) []byte {
	b := f.Begin("")
	b = append(b, e.head...)
	return append(b, `{"index":0,"delta":`...)
}

// deltaEnd ends a chunk deltaStart began, after its delta.
func (e *chatStreamEncoder) deltaEnd(f *canon.Frames, b []byte) {
	b = append(b, `,"logprobs":null,"finish_reason":null}]`...)
	e.close(f, b)
}

// close ends a chunk after its choices.
func (e *chatStreamEncoder) close(f *canon.Frames, b []byte) {
	if e.includeUsage {
		b = append(b, `,"usage":null`...)
	}
	f.End(append(b, '}'))
}
