package gemini

import (
	"errors"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// A Gemini stream (streamGenerateContent?alt=sse) is a run of SSE data
// events, each a whole GenerateContentResponse: no event names, no [DONE].
// Text and thoughts come in pieces, one or more parts per chunk; a function
// call comes whole in one part. The last chunk carries the finishReason and
// the final usageMetadata; the stream then ends with the connection.

// errEvent is an event the decoder cannot read.
var errEvent = errors.New("gemini stream: an event is not a GenerateContentResponse object")

// streamDecoder reads one upstream stream.
type streamDecoder struct {
	started, ended bool
	open           canon.PartKind // the text or thinking part open; 0: none
	index          int            // the open part's index, or the next one's
	tool           bool           // a function call came
	calls          int
	id             string // the responseId, copied, for the ids of calls that have none
	inputSent      bool
}

func newDecoder() canon.StreamDecoder { return &streamDecoder{} }

// Decode reads one chunk. After the chunk with the finishReason (EvEnd),
// later events add nothing.
func (d *streamDecoder) Decode(_, data []byte, out []canon.Event) ([]canon.Event, error) {
	if d.ended {
		return out, nil
	}
	s := wire.StringView(data)
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	if !gjson.Valid(s) {
		return out, errEvent
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return out, errEvent
	}
	if eo := root.Get("error"); eo.IsObject() {
		var e canon.Error
		readError(&e, eo)
		d.ended = true
		return append(out, canon.Event{Kind: canon.EvError, Err: e}), nil
	}
	if !d.started {
		d.started = true
		id := field(root, "responseId", "response_id").Str
		d.id = strings.Clone(id)
		out = append(out, canon.Event{Kind: canon.EvStart, ID: d.id, Model: field(root, "modelVersion", "model_version").Str})
	}
	cand := root.Get("candidates.0")
	usage := field(root, "usageMetadata", "usage_metadata")
	reason := field(cand, "finishReason", "finish_reason")
	if usage.Exists() && !d.inputSent && reason.Str == "" {
		// The first usage reports the input; the rest waits for the end.
		d.inputSent = true
		out = append(out, canon.Event{Kind: canon.EvUsage, Usage: readUsage(usage)})
	}
	field(field(cand, "content", "content"), "parts", "parts").ForEach(func(_, p gjson.Result) bool {
		out = d.part(p, out)
		return true
	})
	var stop canon.Stop
	switch {
	case reason.Str != "":
		stop = finishStop(reason.Str, d.tool)
	case !cand.Exists():
		if br := field(field(root, "promptFeedback", "prompt_feedback"), "blockReason", "block_reason"); br.Str != "" {
			stop = canon.Stop{Reason: canon.StopFilter, Raw: br.Str}
		}
	}
	if stop.Reason == canon.StopNone {
		return out, nil
	}
	out = d.close(out)
	out = append(out, canon.Event{Kind: canon.EvStop, Stop: stop})
	if usage.Exists() {
		out = append(out, canon.Event{Kind: canon.EvUsage, Usage: readUsage(usage)})
	}
	d.ended = true
	return append(out, canon.Event{Kind: canon.EvEnd}), nil
}

// part reads one part of a chunk.
func (d *streamDecoder) part(p gjson.Result, out []canon.Event) []canon.Event {
	var rp replyPart
	rp.read(p)
	if rp.thought {
		out = d.ensure(canon.PartThinking, out)
		if rp.text.Str != "" {
			out = append(out, canon.Event{Kind: canon.EvDelta, Index: d.index, Text: rp.text.Str})
		}
		if rp.sig.Str != "" {
			out = append(out, canon.Event{Kind: canon.EvDelta, Index: d.index, Signature: rp.sig.Str})
		}
		return out
	}
	if rp.sig.Exists() {
		// The signature of the thinking before this part: a thinking
		// part of its own.
		out = d.close(out)
		out = append(out,
			canon.Event{Kind: canon.EvPartStart, Index: d.index, Part: canon.Part{Kind: canon.PartThinking}},
			canon.Event{Kind: canon.EvDelta, Index: d.index, Signature: rp.sig.Str},
			canon.Event{Kind: canon.EvPartStop, Index: d.index})
		d.index++
	}
	switch {
	case rp.call.Exists():
		out = d.close(out)
		d.tool = true
		id := rp.callID(d.id, d.calls)
		d.calls++
		out = append(out,
			canon.Event{Kind: canon.EvPartStart, Index: d.index, Part: canon.Part{Kind: canon.PartToolCall, ID: id,
				Name: field(rp.call, "name", "name").Str}},
			canon.Event{Kind: canon.EvDelta, Index: d.index, Text: rp.args()},
			canon.Event{Kind: canon.EvPartStop, Index: d.index})
		d.index++
	case rp.text.Str != "":
		out = d.ensure(canon.PartText, out)
		out = append(out, canon.Event{Kind: canon.EvDelta, Index: d.index, Text: rp.text.Str})
	}
	return out
}

// ensure opens a part of kind k unless one is open.
func (d *streamDecoder) ensure(k canon.PartKind, out []canon.Event) []canon.Event {
	if d.open == k {
		return out
	}
	out = d.close(out)
	d.open = k
	return append(out, canon.Event{Kind: canon.EvPartStart, Index: d.index, Part: canon.Part{Kind: k}})
}

// close closes the open text or thinking part.
func (d *streamDecoder) close(out []canon.Event) []canon.Event {
	if d.open == 0 {
		return out
	}
	d.open = 0
	out = append(out, canon.Event{Kind: canon.EvPartStop, Index: d.index})
	d.index++
	return out
}
