package guard

import (
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
	"github.com/sluice-gw/sluice/internal/sse"
)

// addSlot records string value v of the event's data as text of channel k.
func (s *Stream) addSlot(d []byte, k chanKey, v walk.Span) {
	if !walk.IsString(d, v) {
		return
	}
	e, esc := walk.StrEnd(d, v.Start)
	if e != v.End {
		return
	}
	s.slots = append(s.slots, slot{key: k, v: v, esc: esc})
}

// unreadable handles an event whose data is not a JSON object (err says
// how): one with no data, or [DONE], carries no text and is relayed as it
// came; any other could hide text from the scan, so it is an error and the
// caller ends the stream without it.
func (s *Stream) unreadable(dst []byte, ev *sse.Event, err error) ([]byte, error) {
	if len(ev.Data) == 0 || ev.IsDone() {
		return append(dst, ev.Raw...), nil
	}
	return dst, err
}

// openaiEvent handles a chat or completions chunk (or [DONE]).
func (s *Stream) openaiEvent(dst []byte, ev *sse.Event) ([]byte, error) {
	s.resetEnds()
	if ev.IsDone() {
		s.endAll = true
		return s.apply(dst, ev, false)
	}
	d := ev.Data
	root, err := walk.RootObject(d)
	if err != nil {
		return s.unreadable(dst, ev, err)
	}
	pure, choices := true, false
	it, _ := walk.Open(d, root, &s.reg)
	s.skipHead(d, &it)
	if s.op == provider.OpChat && s.contentChunk(d, it.Pos(), root.End) {
		if !s.haveHead {
			s.captureHead(d, root)
		}
		return s.apply(dst, ev, true)
	}
	if !walk.ValidEvent(d) {
		return dst, ErrInvalidJSON
	}
	// The first chunk with choices gives the head synth writes: its other
	// members (id, object, created, model, ...), taken during this walk.
	head := !s.haveHead
	h0 := len(s.head)
	for {
		k, v, ok := it.Next()
		if !ok {
			break
		}
		switch string(it.KeyText(k, &s.kbuf)) {
		case "choices":
			choices = true
			s.openaiChoices(d, v, &pure)
		case "usage":
			if !walk.IsNull(d, v) {
				pure = false
			}
		case "obfuscation":
		default:
			if head {
				head = s.appendHead(d, k, v)
			}
		}
	}
	if !s.haveHead {
		if choices && head {
			s.haveHead = true
		} else {
			s.head = s.head[:h0]
		}
	}
	return s.apply(dst, ev, pure)
}

// appendHead appends member k: v to the head; false when v is malformed.
func (s *Stream) appendHead(d []byte, k, v walk.Span) bool {
	if v = walk.EndOf(d, v); v.End < 0 {
		return false
	}
	s.head = append(s.head, d[k.Start:k.End]...)
	s.head = append(s.head, ':')
	s.head = append(s.head, d[v.Start:v.End]...)
	s.head = append(s.head, ',')
	return true
}

// skipHead moves the walk of a chunk's root object past its leading
// members when they are, byte for byte, the captured head (id, object,
// created, model, ...: the same in every chunk of a stream): none of them
// is one the walk looks at, so it need not read them again.
func (s *Stream) skipHead(d []byte, it *walk.Iter) {
	h := s.head
	if !s.haveHead || len(h) == 0 || h[len(h)-1] != ',' {
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
func (s *Stream) contentChunk(d []byte, i, end int) bool {
	const (
		pre   = `"choices":[{"index":`
		delta = `,"delta":{"content":`
		post  = `},"logprobs":null,"finish_reason":null}]`
	)
	if end > len(d) {
		return false
	}
	idx, v, esc, ok := indexedString(d, i, pre, delta)
	if !ok || !at(d, v.End, post) {
		return false
	}
	p := v.End + len(post) // end-1 is the root's closing brace
	if p > end-1 {
		return false
	}
	if !plainTail(d, p, end-1) {
		return false
	}
	s.slots = append(s.slots, slot{key: chanKey{int32(idx), bText}, v: v, esc: esc})
	return true
}

// indexedString reads, at i, the bytes pre, a channel index of at most 9
// digits, the bytes mid and a JSON string: the shape both fast paths
// recognise. v spans the string with its quotes; esc reports escapes in it.
// The index and the string must be valid JSON, so that an event the fast
// path takes is valid JSON by construction.
func indexedString(d []byte, i int, pre, mid string) (idx int, v walk.Span, esc, ok bool) {
	if !at(d, i, pre) {
		return 0, walk.Span{}, false, false
	}
	i += len(pre)
	n := i
	for n < len(d) && n-i < 9 && d[n] >= '0' && d[n] <= '9' {
		n++
	}
	if idx, ok = walk.IntValue(d, walk.Span{Start: i, End: n}); !ok || !walk.ValidIndex(d, i, n) || !at(d, n, mid) {
		return 0, walk.Span{}, false, false
	}
	v = walk.Span{Start: n + len(mid)}
	if v.Start >= len(d) || d[v.Start] != '"' {
		return 0, walk.Span{}, false, false
	}
	if v.End, esc = walk.StrEnd(d, v.Start); v.End < 0 || !walk.ValidString(d, v) {
		return 0, walk.Span{}, false, false
	}
	return idx, v, esc, true
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
	if at(d[:end], p, usage) {
		p += len(usage)
	}
	if p == end {
		return true
	}
	if !at(d[:end], p, obf) {
		return false
	}
	p += len(obf)
	if end-p < 2 || d[p] != '"' {
		return false
	}
	e, _ := walk.StrEnd(d[:end], p)
	return e == end && walk.ValidString(d, walk.Span{Start: p, End: e})
}

// at reports whether b holds lit at i.
func at(b []byte, i int, lit string) bool {
	return i >= 0 && i <= len(b) && len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// captureHead keeps the chunk's top-level members other than choices,
// usage and obfuscation (id, object, created, model, ...), each followed by
// a comma, for the chunks synth writes.
func (s *Stream) captureHead(d []byte, root walk.Span) {
	s.haveHead = true
	it, _ := walk.Open(d, root, &s.reg)
	for {
		k, v, ok := it.Next()
		if !ok {
			return
		}
		if walk.KeyIs(d, k, "choices") || walk.KeyIs(d, k, "usage") || walk.KeyIs(d, k, "obfuscation") {
			continue
		}
		if !s.appendHead(d, k, v) {
			return
		}
	}
}

func (s *Stream) openaiChoices(d []byte, arr walk.Span, pure *bool) {
	it, ok := walk.Open(d, arr, &s.reg)
	if !ok || it.Obj() {
		return
	}
	for pos := 0; ; pos++ {
		_, c, ok := it.Next()
		if !ok {
			return
		}
		idx, first, finish := pos, len(s.slots), false
		ci, ok := walk.Open(d, c, &s.reg)
		if !ok || !ci.Obj() {
			continue
		}
		for {
			k, v, ok := ci.Next()
			if !ok {
				break
			}
			name := ci.KeyText(k, &s.kbuf)
			switch {
			case string(name) == "index":
				if n, ok := walk.IntValue(d, v); ok {
					idx = n
				}
			case string(name) == "delta" && s.op == provider.OpChat:
				s.chatDelta(d, v, pure)
			case string(name) == "text" && s.op == provider.OpCompletions:
				s.addSlot(d, chanKey{b: bText}, v)
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
		for j := first; j < len(s.slots); j++ {
			s.slots[j].key.a = int32(idx)
		}
		if finish {
			s.endAs = append(s.endAs, int32(idx))
		}
	}
}

// chatDelta reads a chat delta: content, refusal, and
// tool_calls[].function.arguments.
func (s *Stream) chatDelta(d []byte, delta walk.Span, pure *bool) {
	it, ok := walk.Open(d, delta, &s.reg)
	if !ok || !it.Obj() {
		return
	}
	for {
		k, v, ok := it.Next()
		if !ok {
			return
		}
		switch string(it.KeyText(k, &s.kbuf)) {
		case "content":
			if walk.IsNull(d, v) {
				continue
			}
			s.addSlot(d, chanKey{b: bText}, v)
		case "refusal":
			if walk.IsNull(d, v) {
				continue
			}
			s.addSlot(d, chanKey{b: bRefusal}, v)
		case "tool_calls":
			s.toolCalls(d, v, pure)
		default:
			*pure = false // role, refusal, ...: relay the event even with no text
		}
	}
}

func (s *Stream) toolCalls(d []byte, arr walk.Span, pure *bool) {
	it, ok := walk.Open(d, arr, &s.reg)
	if !ok || it.Obj() {
		return
	}
	for pos := 0; ; pos++ {
		_, tc, ok := it.Next()
		if !ok {
			return
		}
		idx, first := pos, len(s.slots)
		ti, ok := walk.Open(d, tc, &s.reg)
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
				fi, ok := walk.Open(d, v, &s.reg)
				if !ok || !fi.Obj() {
					continue
				}
				for {
					fk, fv, ok := fi.Next()
					if !ok {
						break
					}
					if walk.KeyIs(d, fk, "arguments") {
						s.addSlot(d, chanKey{}, fv)
					} else {
						*pure = false // name
					}
				}
			default:
				*pure = false // id, type
			}
		}
		for j := first; j < len(s.slots); j++ {
			s.slots[j].key.b = int32(idx)
		}
	}
}

// anthropicEvent handles a Messages stream event.
func (s *Stream) anthropicEvent(dst []byte, ev *sse.Event) ([]byte, error) {
	s.resetEnds()
	d := ev.Data
	root, err := walk.RootObject(d)
	if err != nil {
		return s.unreadable(dst, ev, err)
	}
	if s.textDelta(d, root) {
		return s.apply(dst, ev, true)
	}
	if !walk.ValidEvent(d) {
		return dst, ErrInvalidJSON
	}
	var typ, delta, block walk.Span
	idx := -1
	it, _ := walk.Open(d, root, &s.reg)
	for {
		k, v, ok := it.Next()
		if !ok {
			break
		}
		switch string(it.KeyText(k, &s.kbuf)) {
		case "type":
			typ = v
		case "index":
			if n, ok := walk.IntValue(d, v); ok {
				idx = n
			}
		case "delta":
			delta = v
		case "content_block":
			block = v
		}
	}
	is := func(name string) bool {
		if typ.End > typ.Start {
			return walk.ValueIs(d, typ, name)
		}
		return string(ev.Name) == name
	}
	pure := false
	switch {
	case is("content_block_delta"):
		if idx < 0 {
			break
		}
		dt, _ := walk.Get(d, delta, "type")
		switch {
		case walk.ValueIs(d, dt, "text_delta"):
			if v, ok := walk.Get(d, delta, "text"); ok {
				s.addSlot(d, chanKey{int32(idx), bText}, v)
			}
		case walk.ValueIs(d, dt, "input_json_delta"):
			if v, ok := walk.Get(d, delta, "partial_json"); ok {
				s.addSlot(d, chanKey{int32(idx), bJSON}, v)
			}
		}
		pure = true
	case is("content_block_start"):
		if idx < 0 {
			break
		}
		if bt, _ := walk.Get(d, block, "type"); walk.ValueIs(d, bt, "text") {
			if v, ok := walk.Get(d, block, "text"); ok {
				s.addSlot(d, chanKey{int32(idx), bText}, v)
			}
		}
	case is("content_block_stop"):
		s.endAs = append(s.endAs, int32(idx))
	case is("message_delta"), is("message_stop"):
		s.endAll = true
	}
	return s.apply(dst, ev, pure)
}

// textDelta reads a Messages event when it is byte for byte the commonest
// shape,
//
//	{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"…"}}
//
// recording the text's slot as the full walk would, and reports whether it
// did; on any other bytes it does nothing.
func (s *Stream) textDelta(d []byte, root walk.Span) bool {
	const (
		pre   = `{"type":"content_block_delta","index":`
		delta = `,"delta":{"type":"text_delta","text":`
	)
	idx, v, esc, ok := indexedString(d, root.Start, pre, delta)
	if !ok || v.End+2 != root.End || !at(d, v.End, `}}`) {
		return false
	}
	s.slots = append(s.slots, slot{key: chanKey{int32(idx), bText}, v: v, esc: esc})
	return true
}

// responsesEvent handles a Responses API stream event. Deltas are scanned
// as channels; the events that repeat whole texts (*.done,
// response.completed) end their channels and have those texts redacted as
// a buffered reply's would be.
func (s *Stream) responsesEvent(dst []byte, ev *sse.Event) ([]byte, error) {
	s.resetEnds()
	d := ev.Data
	root, err := walk.RootObject(d)
	if err != nil {
		return s.unreadable(dst, ev, err)
	}
	if !walk.ValidEvent(d) {
		return dst, ErrInvalidJSON
	}
	var typ, delta, text, args, part, item, resp walk.Span
	o, c := -1, -1
	it, _ := walk.Open(d, root, &s.reg)
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
	is := func(name string) bool {
		if typ.End > typ.Start {
			return walk.ValueIs(d, typ, name)
		}
		return string(ev.Name) == name
	}
	textKey, argsKey := chanKey{int32(o), int32(c)}, chanKey{int32(o), -1}
	switch {
	case is("response.output_text.delta") && o >= 0 && c >= 0:
		s.responsesDelta(d, ev.Name, textKey, delta)
		return s.apply(dst, ev, true)
	case is("response.function_call_arguments.delta") && o >= 0:
		s.responsesDelta(d, ev.Name, argsKey, delta)
		return s.apply(dst, ev, true)
	case is("response.output_text.done"):
		s.endKeys = append(s.endKeys, textKey)
		return s.applyFull(dst, ev, func(w *walk.Walker) { w.Str(text) })
	case is("response.function_call_arguments.done"):
		s.endKeys = append(s.endKeys, argsKey)
		return s.applyFull(dst, ev, func(w *walk.Walker) { w.Str(args) })
	case is("response.content_part.done"):
		s.endKeys = append(s.endKeys, textKey)
		return s.applyFull(dst, ev, func(w *walk.Walker) { w.Block(part) })
	case is("response.output_item.done"):
		s.endAs = append(s.endAs, int32(o))
		return s.applyFull(dst, ev, func(w *walk.Walker) { responsesItem(w, item) })
	case is("response.completed"), is("response.incomplete"), is("response.failed"):
		s.endAll = true
		return s.applyFull(dst, ev, func(w *walk.Walker) { output(w, provider.OpResponses, resp) })
	}
	return s.apply(dst, ev, false)
}

// responsesDelta records a delta's text and keeps the event as the
// channel's template for synthesized deltas.
func (s *Stream) responsesDelta(d, name []byte, k chanKey, delta walk.Span) {
	n := len(s.slots)
	s.addSlot(d, k, delta)
	if len(s.slots) == n {
		return
	}
	ch := s.channel(k)
	ch.tmpl = append(ch.tmpl[:0], d...)
	ch.tmplName = append(ch.tmplName[:0], name...)
	ch.tmplText = delta
}

// applyFull handles an event that repeats whole texts: it flushes the
// channels the event ends, then relays the event with the texts collect
// finds redacted as in a buffered reply (the same result as the deltas the
// client got). A block match there is a violation. (The event was
// validated before: redactFields' own check cannot fail here.)
func (s *Stream) applyFull(dst []byte, ev *sse.Event, collect func(w *walk.Walker)) ([]byte, error) {
	dst, err := s.flushEnded(dst)
	if err != nil {
		return dst, err
	}
	defer s.closeEnded()
	sc := s.p.getScratch()
	defer s.p.putScratch(sc)
	sc.w.Reset(ev.Data)
	collect(&sc.w)
	sc.counts = resize(sc.counts, len(s.p.out)) // counted by the deltas already
	out, edited, _, blocked, err := redactFields(sc, s.p.out, ev.Data, s.data[:0], sc.counts, false)
	switch {
	case err != nil:
		return dst, err
	case blocked != "":
		// Normally the deltas blocked first; count the text the deltas missed.
		for i, r := range s.p.out {
			if r.name == blocked {
				s.counts[i]++
			}
		}
		return dst, &Violation{Rule: blocked, Scope: Output}
	case !edited:
		return append(dst, ev.Raw...), nil
	}
	s.data = out
	return sse.AppendEvent(dst, ev.Name, out), nil
}
