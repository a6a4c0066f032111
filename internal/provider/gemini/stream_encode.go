package gemini

import (
	"bytes"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// streamEncoder writes canonical events as a Gemini client's stream: one
// data event (no name) per GenerateContentResponse chunk, as
// streamGenerateContent?alt=sse sends them. Text and thinking deltas are a
// chunk each; a tool call is held until its part stops and written whole,
// as Gemini does; the last chunk carries the finishReason and the usage.
// A call whose arguments are not whole JSON when its part stops is held
// further: canon lets a later part of the same id continue it (a decoder
// reads an earlier call's late fragment so), and a call still held at the
// end is written then.
type streamEncoder struct {
	id, model string
	kind      canon.PartKind // the open part's
	wrote     bool           // the open part wrote text
	sig       string         // a signature waiting for the next part
	callID    string
	callName  string
	args      []byte
	held      []heldCall // calls whose arguments are not whole yet
	stop      canon.Stop
	usage     canon.Usage
	done      bool
	part      canon.Part // scratch for the part a chunk writes
}

// heldCall is a tool call waiting for the rest of its arguments.
type heldCall struct {
	id, name string
	args     []byte
}

func newEncoder(*canon.Request) canon.StreamEncoder { return &streamEncoder{} }

// Encode adds the chunks ev becomes to f.
func (e *streamEncoder) Encode(f *canon.Frames, ev *canon.Event) {
	if e.done {
		return
	}
	switch ev.Kind {
	case canon.EvStart:
		e.id, e.model = strings.Clone(ev.ID), strings.Clone(ev.Model)
	case canon.EvPartStart:
		e.kind, e.wrote = ev.Part.Kind, false
		switch ev.Part.Kind {
		case canon.PartToolCall:
			e.callID, e.callName = strings.Clone(ev.Part.ID), strings.Clone(ev.Part.Name)
			e.args = e.args[:0]
			for i := range e.held {
				if h := e.held[i]; h.id != "" && h.id == e.callID {
					e.args = append(e.args, h.args...)
					e.held = append(e.held[:i], e.held[i+1:]...)
					break
				}
			}
		case canon.PartText, canon.PartRefusal, canon.PartThinking:
			if ev.Part.Text != "" {
				e.textChunk(f, ev.Part.Text)
			}
		}
	case canon.EvDelta:
		switch e.kind {
		case canon.PartToolCall:
			e.args = append(e.args, ev.Text...)
		case canon.PartThinking:
			if ev.Signature != "" {
				if e.wrote {
					e.sigChunk(f, ev.Signature)
				} else {
					e.sig = strings.Clone(ev.Signature)
				}
			}
			if ev.Text != "" {
				e.textChunk(f, ev.Text)
			}
		case canon.PartText, canon.PartRefusal:
			if ev.Text != "" {
				e.textChunk(f, ev.Text)
			}
		}
	case canon.EvPartStop:
		if e.kind == canon.PartToolCall {
			if len(e.args) > 0 && !gjson.Valid(wire.StringView(e.args)) {
				e.held = append(e.held, heldCall{e.callID, e.callName, bytes.Clone(e.args)})
			} else {
				e.callChunk(f, e.callID, e.callName, e.args)
			}
		}
		e.kind = 0
	case canon.EvStop:
		e.stop = canon.Stop{Reason: ev.Stop.Reason, Raw: strings.Clone(ev.Stop.Raw)}
	case canon.EvUsage:
		e.usage.Merge(&ev.Usage)
	case canon.EvEnd:
		for _, h := range e.held {
			e.callChunk(f, h.id, h.name, h.args)
		}
		e.held = nil
		b := e.begin(f)
		if e.sig != "" {
			b = append(b, `{"text":"","thoughtSignature":`...)
			b = wire.AppendJSONString(b, e.sig)
			b = append(b, '}')
			e.sig = ""
		} else {
			b = append(b, `{"text":""}`...)
		}
		e.end(f, b, true)
		e.done = true
	case canon.EvError:
		b := f.Begin("")
		b = appendCanonError(b, &ev.Err)
		f.End(b)
		e.done = true
	}
}

// callChunk writes a chunk with one functionCall part.
func (e *streamEncoder) callChunk(f *canon.Frames, id, name string, args []byte) {
	e.part = canon.Part{Kind: canon.PartToolCall, ID: id, Name: name}
	b := e.begin(f)
	b = appendReplyPart(b, &e.part, "", wire.StringView(args), &e.sig)
	e.end(f, b, false)
}

// textChunk writes a chunk with one text or thought part, carrying the
// waiting signature.
func (e *streamEncoder) textChunk(f *canon.Frames, text string) {
	e.part.Kind = e.kind
	if e.kind == canon.PartRefusal {
		e.part.Kind = canon.PartText
	}
	e.part.Signature = ""
	b := e.begin(f)
	b = appendReplyPart(b, &e.part, text, "", &e.sig)
	e.end(f, b, false)
	e.wrote = true
}

// sigChunk writes a chunk with a thought part that carries only the
// signature of the thoughts written before it.
func (e *streamEncoder) sigChunk(f *canon.Frames, sig string) {
	b := e.begin(f)
	b = append(b, `{"text":"","thought":true,"thoughtSignature":`...)
	b = wire.AppendJSONString(b, sig)
	b = append(b, '}')
	e.end(f, b, false)
}

// begin starts a chunk, up to its parts.
func (e *streamEncoder) begin(f *canon.Frames) []byte {
	b := f.Begin("")
	return append(b, `{"candidates":[{"content":{"parts":[`...)
}

// end finishes a chunk begun by begin: with the finishReason and the usage
// when last.
func (e *streamEncoder) end(f *canon.Frames, b []byte, last bool) {
	b = append(b, `],"role":"model"}`...)
	if last {
		b = append(b, `,"finishReason":"`...)
		b = append(b, finishReason(&e.stop)...)
		b = append(b, '"')
	}
	b = append(b, `,"index":0}]`...)
	if e.usage.Valid {
		// Every chunk repeats the usage known so far, as Gemini's do.
		b = append(b, `,"usageMetadata":`...)
		b = appendUsage(b, &e.usage)
	}
	f.End(appendTail(b, e.model, e.id))
}
