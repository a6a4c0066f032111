package bedrock

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// NewDecoder returns a decoder of one ConverseStream reply's events (name:
// the :event-type EventReader returns; data: the JSON payload).
//
// ConverseStream says:
//
//	messageStart        {role}                                      → EvStart (no id or model: Bedrock sends none)
//	contentBlockStart   {contentBlockIndex, start:{toolUse:{toolUseId, name}}}
//	                                                                → EvPartStart of a tool call
//	contentBlockDelta   {contentBlockIndex, delta:{text} | {toolUse:{input}} |
//	                     {reasoningContent:{text} | {signature} | {redactedContent}}}
//	                                                                → EvDelta (EvPartStart first for a
//	                                                                  block with no contentBlockStart:
//	                                                                  text and reasoning have none)
//	contentBlockStop    {contentBlockIndex}                         → EvPartStop
//	messageStop         {stopReason, additionalModelResponseFields} → EvStop
//	metadata            {usage, metrics, trace}                     → EvUsage, EvEnd (it is the last event)
//	*Exception, or an :error-code (upper-case first letter)         → EvError
//
// A redactedContent delta opens a thinking part of its own whose
// EvPartStart carries Part.Redacted (canon has no delta for it). Deltas
// of kinds canon cannot carry (citation, image, toolResult of server-side
// tools) and events of names it does not know (lower-case first letter)
// say nothing, as does content after messageStop (or a second
// messageStop). Canonical part indexes count the parts in the order they
// start; a delta for another block than the open one closes it first (a
// tool call's block reopened so keeps its id and name).
func NewDecoder() canon.StreamDecoder { return &decoder{} }

type decoder struct {
	started, ended bool
	stopped        bool           // messageStop came: no part may follow
	open           bool           // a part is open
	block          int64          // the open part's contentBlockIndex
	kind           canon.PartKind // the open part's kind
	parts          int            // parts started so far; the open one is parts-1
	calls          []blockCall    // the tool calls started, for a delta that reopens one
}

// blockCall is the id and name (copies) of the tool call of a content
// block.
type blockCall struct {
	block    int64
	id, name string
}

var errEvent = errors.New("bedrock: stream event is not a JSON object")

func (d *decoder) Decode(name, data []byte, out []canon.Event) ([]canon.Event, error) {
	if d.ended {
		return out, nil
	}
	ev := eventOf(name)
	if ev == evOther {
		if isError(name) {
			d.ended = true
			return append(out, canon.Event{Kind: canon.EvError, Err: streamError(name, data)}), nil
		}
		return out, nil
	}
	root := gjson.Parse(wire.StringView(data))
	if !root.IsObject() || !gjson.ValidBytes(data) {
		return out, fmt.Errorf("%w: %s", errEvent, name)
	}
	out = d.start(out)
	if d.stopped && (ev == evBlockStart || ev == evBlockDelta || ev == evBlockStop) {
		return out, nil // content after messageStop: canon's grammar has no place for it
	}
	switch ev {
	case evBlockStart:
		tu := root.Get("start.toolUse")
		if !tu.IsObject() {
			return out, nil // a server-side tool's result, an image: nothing canon carries
		}
		out = d.close(out)
		block, id, name := root.Get("contentBlockIndex").Int(), tu.Get("toolUseId").Str, tu.Get("name").Str
		d.calls = append(d.calls, blockCall{block, strings.Clone(id), strings.Clone(name)})
		out = d.openPart(out, block, canon.Part{Kind: canon.PartToolCall, ID: id, Name: name})
	case evBlockDelta:
		out = d.delta(out, root.Get("contentBlockIndex").Int(), root.Get("delta"))
	case evBlockStop:
		if d.open && d.block == root.Get("contentBlockIndex").Int() {
			out = d.close(out)
		}
	case evMessageStop:
		out = d.close(out)
		stop := stopOf(root.Get("stopReason").Str)
		if seq := root.Get("additionalModelResponseFields.stop_sequence"); seq.Type == gjson.String {
			stop.Sequence = seq.Str
		}
		if d.stopped {
			return out, nil
		}
		d.stopped = true
		out = append(out, canon.Event{Kind: canon.EvStop, Stop: stop})
	case evMetadata:
		out = d.close(out)
		if u, ok := readUsage(root.Get("usage")); ok {
			out = append(out, canon.Event{Kind: canon.EvUsage, Usage: u})
		}
		d.ended = true
		out = append(out, canon.Event{Kind: canon.EvEnd})
	}
	return out, nil
}

// delta appends the events of a contentBlockDelta for block.
func (d *decoder) delta(out []canon.Event, block int64, delta gjson.Result) []canon.Event {
	var (
		kind      canon.PartKind
		text, sig string
	)
	if t := delta.Get("text"); t.Type == gjson.String {
		kind, text = canon.PartText, t.Str
	} else if in := delta.Get("toolUse.input"); in.Exists() {
		kind, text = canon.PartToolCall, in.Str
	} else if rc := delta.Get("reasoningContent"); rc.IsObject() {
		kind = canon.PartThinking
		if r := rc.Get("redactedContent"); r.Type == gjson.String {
			out = d.close(out)
			return d.openPart(out, block, canon.Part{Kind: canon.PartThinking, Redacted: r.Str})
		}
		text, sig = rc.Get("text").Str, rc.Get("signature").Str
	} else {
		return out // citation, image, toolResult: not carried
	}
	if !d.open || d.block != block || d.kind != kind {
		out = d.close(out)
		p := canon.Part{Kind: kind}
		if kind == canon.PartToolCall {
			// A delta of a call whose part another block closed continues
			// it in a new part of the same id and name (canon's rule).
			for i := len(d.calls) - 1; i >= 0; i-- {
				if d.calls[i].block == block {
					p.ID, p.Name = d.calls[i].id, d.calls[i].name
					break
				}
			}
		}
		out = d.openPart(out, block, p)
	}
	if text == "" && sig == "" {
		return out
	}
	return append(out, canon.Event{Kind: canon.EvDelta, Index: d.parts - 1, Text: text, Signature: sig})
}

func (d *decoder) start(out []canon.Event) []canon.Event {
	if d.started {
		return out
	}
	d.started = true
	return append(out, canon.Event{Kind: canon.EvStart})
}

func (d *decoder) openPart(out []canon.Event, block int64, p canon.Part) []canon.Event {
	d.open, d.block, d.kind = true, block, p.Kind
	d.parts++
	return append(out, canon.Event{Kind: canon.EvPartStart, Index: d.parts - 1, Part: p})
}

func (d *decoder) close(out []canon.Event) []canon.Event {
	if !d.open {
		return out
	}
	d.open = false
	return append(out, canon.Event{Kind: canon.EvPartStop, Index: d.parts - 1})
}

// event is a ConverseStream event type.
type event uint8

const (
	evOther event = iota
	evMessageStart
	evBlockStart
	evBlockDelta
	evBlockStop
	evMessageStop
	evMetadata
)

func eventOf(name []byte) event {
	switch string(name) { // compared without allocating
	case "messageStart":
		return evMessageStart
	case "contentBlockStart":
		return evBlockStart
	case "contentBlockDelta":
		return evBlockDelta
	case "contentBlockStop":
		return evBlockStop
	case "messageStop":
		return evMessageStop
	case "metadata":
		return evMetadata
	}
	return evOther
}

// isError reports whether an event name is an exception's
// (…Exception) or an error message's code: event names start with a
// lower-case letter, error codes (InternalFailure, ...) with an
// upper-case one.
func isError(name []byte) bool {
	const suffix = "Exception"
	if n := len(name); n >= len(suffix) && string(name[n-len(suffix):]) == suffix {
		return true
	}
	return len(name) > 0 && name[0] >= 'A' && name[0] <= 'Z'
}

// Finish closes a stream that ended after messageStop without its
// metadata event (canon.StreamFinisher): the reply is complete, its usage
// unknown.
func (d *decoder) Finish(out []canon.Event) []canon.Event {
	if d.ended || !d.stopped {
		return out
	}
	d.ended = true
	return append(d.close(out), canon.Event{Kind: canon.EvEnd})
}

var _ canon.StreamFinisher = (*decoder)(nil)
