package openai

import (
	"strconv"

	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
	"github.com/sluice-gw/sluice/internal/sse"
)

// The text channels of a stream (walk.ChanKey). Chat: A is the choice's
// index, B is bText for its content, bRefusal for its refusal, or a tool
// call's index for that call's arguments. Completions: A is the choice's
// index, B bText. Responses: A is the output_index, B the content_index of
// an output_text part, or -1 for a function call's arguments.
const (
	bText    int32 = -1
	bRefusal int32 = -3
)

// streamText is the StreamText hook: it reads a chat or completions chunk
// (or [DONE]), or a Responses API event. Embeddings do not stream.
func streamText(st *walk.StreamText, op wire.Operation, name, data []byte) (pure bool, err error) {
	switch op {
	case wire.OpChat, wire.OpCompletions:
		return chunkText(st, op, data)
	case wire.OpResponses:
		return responsesText(st, name, data)
	}
	return false, nil
}

// chunkText reads a chat or completions chunk (or [DONE]).
func chunkText(st *walk.StreamText, op wire.Operation, d []byte) (pure bool, err error) {
	if string(d) == sse.DoneData {
		st.EndAll = true
		return false, nil
	}
	root, err := walk.RootObject(d)
	if err != nil {
		return false, walk.Unreadable(d, err)
	}
	pure, choices := true, false
	it, _ := walk.Open(d, root, &st.Reg)
	skipHead(st, d, &it)
	if op == wire.OpChat && contentChunk(st, d, it.Pos(), root.End) {
		if !st.HaveHead {
			captureHead(st, d, root)
		}
		return true, nil
	}
	if !walk.ValidEvent(d) {
		return false, walk.ErrInvalidJSON
	}
	// The first chunk with choices gives the head synthText writes: its
	// other members (id, object, created, model, ...), taken during this
	// walk.
	head := !st.HaveHead
	h0 := len(st.Head)
	for {
		k, v, ok := it.Next()
		if !ok {
			break
		}
		switch string(it.KeyText(k, &st.KBuf)) {
		case "choices":
			choices = true
			chunkChoices(st, op, d, v, &pure)
		case "usage":
			if !walk.IsNull(d, v) {
				pure = false
			}
		case "obfuscation":
		default:
			if head {
				head = appendHead(st, d, k, v)
			}
		}
	}
	if !st.HaveHead {
		if choices && head {
			st.HaveHead = true
		} else {
			st.Head = st.Head[:h0]
		}
	}
	return pure, nil
}

// appendHead appends member k: v to the head; false when v is malformed.
func appendHead(st *walk.StreamText, d []byte, k, v walk.Span) bool {
	if v = walk.EndOf(d, v); v.End < 0 {
		return false
	}
	st.Head = append(st.Head, d[k.Start:k.End]...)
	st.Head = append(st.Head, ':')
	st.Head = append(st.Head, d[v.Start:v.End]...)
	st.Head = append(st.Head, ',')
	return true
}

// skipHead moves the walk of a chunk's root object past its leading
// members when they are, byte for byte, the captured head (id, object,
// created, model, ...: the same in every chunk of a stream): none of them
// is one the walk looks at, so it need not read them again.
func skipHead(st *walk.StreamText, d []byte, it *walk.Iter) {
	h := st.Head
	if !st.HaveHead || len(h) == 0 || h[len(h)-1] != ',' {
		return
	}
	if rest := d[it.Pos():]; len(rest) > len(h) && string(rest[:len(h)]) == string(h) {
		it.Skip(len(h)) // index stays 0: a second comma after it is malformed, as in a full walk
	}
}

// contentChunk reads the rest of a chat chunk, from i (just past its head)
// to its end, when it is byte for byte the commonest shape: one choice with
// content and nothing else that needs relaying,
//
//	"choices":[{"index":N,"delta":{"content":"…"},"logprobs":null,"finish_reason":null}]
//
// then "}" or ',"usage":null}'. It records the content's slot as the full
// walk would (which reads such a chunk as pure) and reports whether it
// did; on any other bytes it does nothing.
func contentChunk(st *walk.StreamText, d []byte, i, end int) bool {
	const (
		pre   = `"choices":[{"index":`
		delta = `,"delta":{"content":`
		post  = `},"logprobs":null,"finish_reason":null}]`
	)
	if end > len(d) {
		return false
	}
	idx, v, esc, ok := walk.IndexedString(d, i, pre, delta)
	if !ok || !walk.At(d, v.End, post) {
		return false
	}
	p := v.End + len(post) // end-1 is the root's closing brace
	if p > end-1 {
		return false
	}
	if !plainTail(d, p, end-1) {
		return false
	}
	st.Slots = append(st.Slots, walk.Slot{Key: walk.ChanKey{A: int32(idx), B: bText}, V: v, Esc: esc})
	return true
}

// plainTail reports whether d[p:end], what follows a chunk's choices up to
// the root's closing brace, holds only members that carry no guarded text:
// nothing, `,"usage":null`, and OpenAI's `,"obfuscation":"…"` padding (a
// valid string), in that order.
func plainTail(d []byte, p, end int) bool {
	const (
		usage = `,"usage":null`
		obf   = `,"obfuscation":`
	)
	if walk.At(d[:end], p, usage) {
		p += len(usage)
	}
	if p == end {
		return true
	}
	if !walk.At(d[:end], p, obf) {
		return false
	}
	p += len(obf)
	if end-p < 2 || d[p] != '"' {
		return false
	}
	e, _ := walk.StrEnd(d[:end], p)
	return e == end && walk.ValidString(d, walk.Span{Start: p, End: e})
}

// captureHead keeps the chunk's top-level members other than choices,
// usage and obfuscation (id, object, created, model, ...), each followed by
// a comma, for the chunks synthText writes.
func captureHead(st *walk.StreamText, d []byte, root walk.Span) {
	st.HaveHead = true
	it, _ := walk.Open(d, root, &st.Reg)
	for {
		k, v, ok := it.Next()
		if !ok {
			return
		}
		if walk.KeyIs(d, k, "choices") || walk.KeyIs(d, k, "usage") || walk.KeyIs(d, k, "obfuscation") {
			continue
		}
		if !appendHead(st, d, k, v) {
			return
		}
	}
}

// chunkChoices reads a chunk's choices: a chat delta, or a completion's
// text, and the choices a finish_reason ends.
func chunkChoices(st *walk.StreamText, op wire.Operation, d []byte, arr walk.Span, pure *bool) {
	it, ok := walk.Open(d, arr, &st.Reg)
	if !ok || it.Obj() {
		return
	}
	for pos := 0; ; pos++ {
		_, c, ok := it.Next()
		if !ok {
			return
		}
		idx, first, finish := pos, len(st.Slots), false
		ci, ok := walk.Open(d, c, &st.Reg)
		if !ok || !ci.Obj() {
			continue
		}
		for {
			k, v, ok := ci.Next()
			if !ok {
				break
			}
			name := ci.KeyText(k, &st.KBuf)
			switch {
			case string(name) == "index":
				if n, ok := walk.IntValue(d, v); ok {
					idx = n
				}
			case string(name) == "delta" && op == wire.OpChat:
				chatDelta(st, d, v, pure)
			case string(name) == "text" && op == wire.OpCompletions:
				st.AddSlot(d, walk.ChanKey{B: bText}, v)
			case string(name) == "finish_reason":
				if !walk.IsNull(d, v) {
					finish = true
					*pure = false
				}
			case string(name) == "logprobs":
				if !walk.IsNull(d, v) {
					*pure = false
				}
			default:
				*pure = false
			}
		}
		for j := first; j < len(st.Slots); j++ {
			st.Slots[j].Key.A = int32(idx)
		}
		if finish {
			st.EndAs = append(st.EndAs, int32(idx))
		}
	}
}

// chatDelta reads a chat delta: content, refusal, and
// tool_calls[].function.arguments.
func chatDelta(st *walk.StreamText, d []byte, delta walk.Span, pure *bool) {
	it, ok := walk.Open(d, delta, &st.Reg)
	if !ok || !it.Obj() {
		return
	}
	for {
		k, v, ok := it.Next()
		if !ok {
			return
		}
		switch string(it.KeyText(k, &st.KBuf)) {
		case "content":
			if walk.IsNull(d, v) {
				continue
			}
			st.AddSlot(d, walk.ChanKey{B: bText}, v)
		case "refusal":
			if walk.IsNull(d, v) {
				continue
			}
			st.AddSlot(d, walk.ChanKey{B: bRefusal}, v)
		case "tool_calls":
			toolCalls(st, d, v, pure)
		default:
			*pure = false // role, refusal, ...: relay the event even with no text
		}
	}
}

func toolCalls(st *walk.StreamText, d []byte, arr walk.Span, pure *bool) {
	it, ok := walk.Open(d, arr, &st.Reg)
	if !ok || it.Obj() {
		return
	}
	for pos := 0; ; pos++ {
		_, tc, ok := it.Next()
		if !ok {
			return
		}
		idx, first := pos, len(st.Slots)
		ti, ok := walk.Open(d, tc, &st.Reg)
		if !ok || !ti.Obj() {
			continue
		}
		for {
			k, v, ok := ti.Next()
			if !ok {
				break
			}
			switch {
			case walk.KeyIs(d, k, "index"):
				if n, ok := walk.IntValue(d, v); ok {
					idx = n
				}
			case walk.KeyIs(d, k, "function"):
				fi, ok := walk.Open(d, v, &st.Reg)
				if !ok || !fi.Obj() {
					continue
				}
				for {
					fk, fv, ok := fi.Next()
					if !ok {
						break
					}
					if walk.KeyIs(d, fk, "arguments") {
						st.AddSlot(d, walk.ChanKey{}, fv)
					} else {
						*pure = false // name
					}
				}
			default:
				*pure = false // id, type
			}
		}
		for j := first; j < len(st.Slots); j++ {
			st.Slots[j].Key.B = int32(idx)
		}
	}
}

// responsesText reads a Responses API stream event. Deltas are channels;
// the events that repeat whole texts (*.done, response.completed) end their
// channels and have those texts redacted as a buffered reply's would be
// (st.Full).
func responsesText(st *walk.StreamText, name, d []byte) (pure bool, err error) {
	root, err := walk.RootObject(d)
	if err != nil {
		return false, walk.Unreadable(d, err)
	}
	if !walk.ValidEvent(d) {
		return false, walk.ErrInvalidJSON
	}
	var typ, delta, text, args, part, item, resp walk.Span
	o, c := -1, -1
	it, _ := walk.Open(d, root, &st.Reg)
	for {
		k, v, ok := it.Next()
		if !ok {
			break
		}
		switch {
		case walk.KeyIs(d, k, "type"):
			typ = v
		case walk.KeyIs(d, k, "output_index"):
			if n, ok := walk.IntValue(d, v); ok {
				o = n
			}
		case walk.KeyIs(d, k, "content_index"):
			if n, ok := walk.IntValue(d, v); ok {
				c = n
			}
		case walk.KeyIs(d, k, "delta"):
			delta = v
		case walk.KeyIs(d, k, "text"):
			text = v
		case walk.KeyIs(d, k, "arguments"):
			args = v
		case walk.KeyIs(d, k, "part"):
			part = v
		case walk.KeyIs(d, k, "item"):
			item = v
		case walk.KeyIs(d, k, "response"):
			resp = v
		}
	}
	is := func(n string) bool {
		if typ.End > typ.Start {
			return walk.ValueIs(d, typ, n)
		}
		return string(name) == n
	}
	textKey, argsKey := walk.ChanKey{A: int32(o), B: int32(c)}, walk.ChanKey{A: int32(o), B: -1}
	w := &st.W
	switch {
	case is("response.output_text.delta") && o >= 0 && c >= 0:
		responsesDelta(st, d, textKey, delta)
		return true, nil
	case is("response.function_call_arguments.delta") && o >= 0:
		responsesDelta(st, d, argsKey, delta)
		return true, nil
	case is("response.output_text.done"):
		st.EndKeys = append(st.EndKeys, textKey)
		w.Reset(d)
		w.Str(text)
	case is("response.function_call_arguments.done"):
		st.EndKeys = append(st.EndKeys, argsKey)
		w.Reset(d)
		w.Str(args)
	case is("response.content_part.done"):
		st.EndKeys = append(st.EndKeys, textKey)
		w.Reset(d)
		w.Block(part)
	case is("response.output_item.done"):
		st.EndAs = append(st.EndAs, int32(o))
		w.Reset(d)
		responsesItem(w, item)
	case is("response.completed"), is("response.incomplete"), is("response.failed"):
		st.EndAll = true
		w.Reset(d)
		outputText(w, wire.OpResponses, resp)
	default:
		return false, nil
	}
	st.Full = true
	return false, nil
}

// responsesDelta records a delta's text and keeps the event as the
// channel's template for synthesized deltas.
func responsesDelta(st *walk.StreamText, d []byte, k walk.ChanKey, delta walk.Span) {
	if st.AddSlot(d, k, delta) {
		st.Slots[len(st.Slots)-1].Template = true
	}
}

// synthText is the SynthText hook: a chat or completions chunk built from
// the stream's head, or a Responses delta built from the channel's
// template (none when the channel has none).
func synthText(dst []byte, st *walk.StreamText, op wire.Operation, key walk.ChanKey, tmpl *walk.Template, text []byte) []byte {
	d := st.Data[:0]
	switch op {
	case wire.OpChat, wire.OpCompletions:
		d = append(d, '{')
		d = append(d, st.Head...)
		d = append(d, `"choices":[{`...)
		if op == wire.OpCompletions {
			d = append(d, `"text":`...)
			d = wire.AppendJSONString(d, wire.StringView(text))
			d = append(d, `,"index":`...)
			d = strconv.AppendInt(d, int64(key.A), 10)
		} else {
			d = append(d, `"index":`...)
			d = strconv.AppendInt(d, int64(key.A), 10)
			switch {
			case key.B == bRefusal:
				d = append(d, `,"delta":{"refusal":`...)
				d = wire.AppendJSONString(d, wire.StringView(text))
				d = append(d, '}')
			case key.B < 0:
				d = append(d, `,"delta":{"content":`...)
				d = wire.AppendJSONString(d, wire.StringView(text))
				d = append(d, '}')
			default:
				d = append(d, `,"delta":{"tool_calls":[{"index":`...)
				d = strconv.AppendInt(d, int64(key.B), 10)
				d = append(d, `,"function":{"arguments":`...)
				d = wire.AppendJSONString(d, wire.StringView(text))
				d = append(d, `}}]}`...)
			}
		}
		d = append(d, `,"logprobs":null,"finish_reason":null}]}`...)
		st.Data = d
		return sse.AppendData(dst, d)
	case wire.OpResponses:
		if len(tmpl.Data) == 0 {
			return dst
		}
		d = append(d, tmpl.Data[:tmpl.Text.Start]...)
		d = wire.AppendJSONString(d, wire.StringView(text))
		d = append(d, tmpl.Data[tmpl.Text.End:]...)
		st.Data = d
		return sse.AppendEvent(dst, tmpl.Name, d)
	}
	return dst
}
