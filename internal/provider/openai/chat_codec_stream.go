package openai

import (
	"bytes"
	"errors"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/sse"
)

var errChatBadChunk = errors.New("openai chat stream chunk is not a JSON object")

// chatStreamDecoder reads an upstream's chat completion chunks into
// canonical events. Only the choice of index 0 is read (a translated
// request asks for one). A delta's reasoning_content (DeepSeek, vLLM) or
// reasoning (newer vLLM) is thinking; content, text; refusal, a refusal;
// a tool call fragment of a call other than the open one's (by id, else
// index) starts a tool call part, and arguments fragments are its deltas.
// Parallel calls may come interleaved (some compatible servers send the
// fragments of several calls in turn): a fragment of a call not started
// yet, while the open call's arguments are not yet a whole JSON value, is
// held, and the held calls start, in order, once the open call's
// arguments are whole or at the next part, finish_reason or [DONE] — so
// that each call is one part, which every client format can carry. A
// fragment of a call already ended opens a new part for the same call.
// finish_reason closes the open part and gives EvStop; usage (in the last
// chunk, or Groq's x_groq.usage) gives EvUsage; [DONE] gives EvEnd. A
// chunk holding "error" gives EvError.
type chatStreamDecoder struct {
	started, stopped, done bool
	open                   canon.PartKind // the open part's kind; 0: none
	index                  int            // the open part's index, or the next one's
	cur                    int            // the open tool call's place in calls
	calls                  []chatCall     // the tool calls seen
	held                   int            // how many calls are held
	args                   []byte         // the open tool call's arguments so far
}

// chatCall is a tool call a stream started: the upstream's index, its id
// and name (copies, for a part that reopens it), and, while it is held,
// its arguments so far.
type chatCall struct {
	index    int
	id, name string
	started  bool // a part of it was emitted
	args     []byte
}

func (d *chatStreamDecoder) Decode(name, data []byte, out []canon.Event) ([]canon.Event, error) {
	if d.done {
		return out, nil
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return out, nil
	}
	if string(data) == sse.DoneData {
		d.done = true
		out = d.start(out, "", "")
		out = d.close(out)
		return append(out, canon.Event{Kind: canon.EvEnd}), nil
	}
	s := wire.StringView(data)
	if !gjson.Valid(s) {
		return out, canon.ErrInvalidJSON
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return out, errChatBadChunk
	}
	var id, model, choices, usage, errv gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			id = v
		case "model":
			model = v
		case "choices":
			choices = v
		case "usage":
			usage = v
		case "x_groq":
			if !usage.IsObject() {
				usage = v.Get("usage")
			}
		case "error":
			errv = v
		}
		return true
	})
	if errv.Type != gjson.Null || string(name) == "error" {
		d.done = true
		var e canon.Error
		chatReadError(&e, root) // sets the status the error's type implies
		if e.Status == 0 {
			e.Status, e.Type = 500, canon.ErrAPI
		}
		if e.Message == "" {
			e.Message = "the upstream's stream reported an error"
		}
		return append(out, canon.Event{Kind: canon.EvError, Err: e}), nil
	}
	var c chatChoice
	choices.ForEach(func(_, v gjson.Result) bool {
		c = chatReadChoice(v)
		return !c.ok // the first choice of index 0
	})
	if c.ok || usage.IsObject() {
		out = d.start(out, id.Str, model.Str)
	}
	if c.ok && !d.stopped {
		out = d.choice(out, &c)
	}
	if usage.IsObject() {
		ev := canon.Event{Kind: canon.EvUsage}
		chatReadUsage(&ev.Usage, usage)
		out = append(out, ev)
	}
	return out, nil
}

// start emits EvStart before the stream's first event.
func (d *chatStreamDecoder) start(out []canon.Event, id, model string) []canon.Event {
	if d.started {
		return out
	}
	d.started = true
	return append(out, canon.Event{Kind: canon.EvStart, ID: id, Model: model})
}

// close emits EvPartStop for the open part, then each held call as a
// part of its own.
func (d *chatStreamDecoder) close(out []canon.Event) []canon.Event {
	return d.flush(d.closePart(out), len(d.calls))
}

// flush emits each held call before calls[n] as a part of its own.
func (d *chatStreamDecoder) flush(out []canon.Event, n int) []canon.Event {
	for i := 0; i < n && d.held > 0; i++ {
		if !d.calls[i].started {
			out = d.closePart(d.startCall(out, i))
		}
	}
	return out
}

// closePart emits EvPartStop for the open part.
func (d *chatStreamDecoder) closePart(out []canon.Event) []canon.Event {
	if d.open == 0 {
		return out
	}
	out = append(out, canon.Event{Kind: canon.EvPartStop, Index: d.index})
	d.open = 0
	d.index++
	return out
}

// startCall opens a part for call at, with the arguments it was held
// with as its first delta.
func (d *chatStreamDecoder) startCall(out []canon.Event, at int) []canon.Event {
	c := &d.calls[at]
	out = append(out, canon.Event{Kind: canon.EvPartStart, Index: d.index,
		Part: canon.Part{Kind: canon.PartToolCall, ID: c.id, Name: c.name}})
	d.open, d.cur = canon.PartToolCall, at
	d.args = d.args[:0]
	if !c.started {
		c.started = true
		d.held--
		if len(c.args) > 0 {
			d.args = append(d.args, c.args...)
			// A view of the held bytes, which nothing writes again.
			out = append(out, canon.Event{Kind: canon.EvDelta, Index: d.index, Text: wire.StringView(c.args)})
			c.args = nil
		}
	}
	return out
}

// whole reports whether the open call's arguments are a whole JSON value.
func (d *chatStreamDecoder) whole() bool {
	return len(d.args) > 0 && gjson.Valid(wire.StringView(d.args))
}

// text adds s to the open part of kind k, opening one first if need be.
func (d *chatStreamDecoder) text(out []canon.Event, k canon.PartKind, s string) []canon.Event {
	if d.open != k {
		out = d.close(out)
		out = append(out, canon.Event{Kind: canon.EvPartStart, Index: d.index, Part: canon.Part{Kind: k}})
		d.open = k
	}
	return append(out, canon.Event{Kind: canon.EvDelta, Index: d.index, Text: s})
}

// chatChoice is what a chunk's choice holds, read in one pass.
type chatChoice struct {
	ok                     bool // an object of index 0
	delta, fin, stopReason gjson.Result
}

func chatReadChoice(v gjson.Result) chatChoice {
	c := chatChoice{ok: v.IsObject()}
	v.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "index":
			c.ok = c.ok && v.Int() == 0
		case "delta":
			c.delta = v
		case "finish_reason":
			c.fin = v
		case "stop_reason":
			c.stopReason = v
		}
		return true
	})
	return c
}

// choice reads a chunk's choice: its delta, then its finish_reason.
func (d *chatStreamDecoder) choice(out []canon.Event, c *chatChoice) []canon.Event {
	out = d.delta(out, c.delta)
	if c.fin.Type == gjson.String && c.fin.Str != "" {
		out = d.close(out)
		ev := canon.Event{Kind: canon.EvStop, Stop: chatStopOf(c.fin.Str)}
		chatStopSequence(&ev.Stop, c.stopReason)
		out = append(out, ev)
		d.stopped = true
	}
	return out
}

func (d *chatStreamDecoder) delta(out []canon.Event, delta gjson.Result) []canon.Event {
	var reasoning, content, refusal, calls gjson.Result
	delta.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "reasoning_content", "reasoning":
			if v.Type == gjson.String && reasoning.Str == "" {
				reasoning = v
			}
		case "content":
			content = v
		case "refusal":
			refusal = v
		case "tool_calls":
			calls = v
		}
		return true
	})
	if reasoning.Str != "" {
		out = d.text(out, canon.PartThinking, reasoning.Str)
	}
	if content.Type == gjson.String && content.Str != "" {
		out = d.text(out, canon.PartText, content.Str)
	}
	if refusal.Type == gjson.String && refusal.Str != "" {
		out = d.text(out, canon.PartRefusal, refusal.Str)
	}
	calls.ForEach(func(_, tc gjson.Result) bool {
		out = d.toolCall(out, tc)
		return true
	})
	return out
}

// toolCall reads a tool call fragment. A fragment with an id belongs to
// the call of that id; one without, to the call of its index, or (with no
// index either, as some servers send whole calls) to the open call. A
// fragment of no known call starts one.
func (d *chatStreamDecoder) toolCall(out []canon.Event, tc gjson.Result) []canon.Event {
	var idx int
	var id, name, args string
	hasIdx := false
	tc.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "index":
			idx, hasIdx = int(v.Int()), v.Type == gjson.Number
		case "id":
			id = v.Str
		case "function":
			name, args = v.Get("name").Str, v.Get("arguments").Str
		}
		return true
	})
	at := -1
	switch {
	case id != "":
		at = d.find(func(c *chatCall) bool { return c.id == id })
	case hasIdx:
		at = d.find(func(c *chatCall) bool { return c.index == idx })
	case d.open == canon.PartToolCall:
		at = d.cur
	}
	if at < 0 {
		if !hasIdx {
			idx = 0
			for i := range d.calls {
				idx = max(idx, d.calls[i].index+1)
			}
		}
		d.calls = append(d.calls, chatCall{index: idx, id: strings.Clone(id), name: strings.Clone(name)})
		d.held++
		at = len(d.calls) - 1
	}
	c := &d.calls[at]
	if !c.started && d.open == canon.PartToolCall && !d.whole() {
		// Interleaved: held until the open call's arguments are whole.
		c.args = append(c.args, args...)
		return out
	}
	if d.open != canon.PartToolCall || d.cur != at {
		out = d.flush(d.closePart(out), at)
		out = d.startCall(out, at)
	}
	if args != "" {
		out = append(out, canon.Event{Kind: canon.EvDelta, Index: d.index, Text: args})
		d.args = append(d.args, args...)
	}
	// The open call is whole: the held calls start, each staying open
	// while its arguments are not.
	for d.held > 0 && d.whole() {
		out = d.closePart(out)
		for i := range d.calls {
			if !d.calls[i].started {
				out = d.startCall(out, i)
				break
			}
		}
	}
	return out
}

// find returns the position of the latest call for which match is true,
// or -1.
func (d *chatStreamDecoder) find(match func(*chatCall) bool) int {
	for i := len(d.calls) - 1; i >= 0; i-- {
		if match(&d.calls[i]) {
			return i
		}
	}
	return -1
}
