package guard

import (
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/sse"
)

// addSlot records string value v of the event's data as text of channel k.
func (s *Stream) addSlot(d []byte, k chanKey, v span) {
	if !isString(d, v) {
		return
	}
	e, esc := strEnd(d, v.start)
	if e != v.end {
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

// valueIs reports whether value v is the JSON string want.
func valueIs(d []byte, v span, want string) bool {
	return isString(d, v) && keyIs(d, v, want)
}

// openaiEvent handles a chat or completions chunk (or [DONE]).
func (s *Stream) openaiEvent(dst []byte, ev *sse.Event) ([]byte, error) {
	s.resetEnds()
	if ev.IsDone() {
		s.endAll = true
		return s.apply(dst, ev, false)
	}
	d := ev.Data
	root, err := rootObject(d)
	if err != nil {
		return s.unreadable(dst, ev, err)
	}
	pure, choices := true, false
	it, _ := open(d, root, &s.reg)
	s.skipHead(&it)
	if s.op == provider.OpChat && s.contentChunk(d, it.i, root.end) {
		if !s.haveHead {
			s.captureHead(d, root)
		}
		return s.apply(dst, ev, true)
	}
	if !validEvent(d) {
		return dst, ErrInvalidJSON
	}
	// The first chunk with choices gives the head synth writes: its other
	// members (id, object, created, model, ...), taken during this walk.
	head := !s.haveHead
	h0 := len(s.head)
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		switch string(it.keyText(k, &s.kbuf)) {
		case "choices":
			choices = true
			s.openaiChoices(d, v, &pure)
		case "usage":
			if !isNull(d, v) {
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
func (s *Stream) appendHead(d []byte, k, v span) bool {
	if v = endOf(d, v); v.end < 0 {
		return false
	}
	s.head = append(s.head, d[k.start:k.end]...)
	s.head = append(s.head, ':')
	s.head = append(s.head, d[v.start:v.end]...)
	s.head = append(s.head, ',')
	return true
}

// skipHead moves the walk of a chunk's root object past its leading
// members when they are, byte for byte, the captured head (id, object,
// created, model, ...: the same in every chunk of a stream): none of them
// is one the walk looks at, so it need not read them again.
func (s *Stream) skipHead(it *iter) {
	h := s.head
	if !s.haveHead || len(h) == 0 || h[len(h)-1] != ',' {
		return
	}
	if rest := it.b[it.i:]; len(rest) > len(h) && string(rest[:len(h)]) == string(h) {
		it.i += len(h) // index stays 0: a second comma after it is malformed, as in a full walk
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
	if !ok || !at(d, v.end, post) {
		return false
	}
	p := v.end + len(post) // end-1 is the root's closing brace
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
func indexedString(d []byte, i int, pre, mid string) (idx int, v span, esc, ok bool) {
	if !at(d, i, pre) {
		return 0, span{}, false, false
	}
	i += len(pre)
	n := i
	for n < len(d) && n-i < 9 && d[n] >= '0' && d[n] <= '9' {
		n++
	}
	if idx, ok = intValue(d, span{i, n}); !ok || !validIndex(d, i, n) || !at(d, n, mid) {
		return 0, span{}, false, false
	}
	v = span{start: n + len(mid)}
	if v.start >= len(d) || d[v.start] != '"' {
		return 0, span{}, false, false
	}
	if v.end, esc = strEnd(d, v.start); v.end < 0 || !validString(d, v) {
		return 0, span{}, false, false
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
	e, _ := strEnd(d[:end], p)
	return e == end && validString(d, span{p, e})
}

// at reports whether b holds lit at i.
func at(b []byte, i int, lit string) bool {
	return i >= 0 && i <= len(b) && len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// captureHead keeps the chunk's top-level members other than choices,
// usage and obfuscation (id, object, created, model, ...), each followed by
// a comma, for the chunks synth writes.
func (s *Stream) captureHead(d []byte, root span) {
	s.haveHead = true
	it, _ := open(d, root, &s.reg)
	for {
		k, v, ok := it.next()
		if !ok {
			return
		}
		if keyIs(d, k, "choices") || keyIs(d, k, "usage") || keyIs(d, k, "obfuscation") {
			continue
		}
		if !s.appendHead(d, k, v) {
			return
		}
	}
}

func (s *Stream) openaiChoices(d []byte, arr span, pure *bool) {
	it, ok := open(d, arr, &s.reg)
	if !ok || it.obj {
		return
	}
	for pos := 0; ; pos++ {
		_, c, ok := it.next()
		if !ok {
			return
		}
		idx, first, finish := pos, len(s.slots), false
		ci, ok := open(d, c, &s.reg)
		if !ok || !ci.obj {
			continue
		}
		for {
			k, v, ok := ci.next()
			if !ok {
				break
			}
			name := ci.keyText(k, &s.kbuf)
			switch {
			case string(name) == "index":
				if n, ok := intValue(d, v); ok {
					idx = n
				}
			case string(name) == "delta" && s.op == provider.OpChat:
				s.chatDelta(d, v, pure)
			case string(name) == "text" && s.op == provider.OpCompletions:
				s.addSlot(d, chanKey{b: bText}, v)
			case string(name) == "finish_reason":
				if !isNull(d, v) {
					finish = true
					*pure = false
				}
			case string(name) == "logprobs":
				if !isNull(d, v) {
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
func (s *Stream) chatDelta(d []byte, delta span, pure *bool) {
	it, ok := open(d, delta, &s.reg)
	if !ok || !it.obj {
		return
	}
	for {
		k, v, ok := it.next()
		if !ok {
			return
		}
		switch string(it.keyText(k, &s.kbuf)) {
		case "content":
			if isNull(d, v) {
				continue
			}
			s.addSlot(d, chanKey{b: bText}, v)
		case "refusal":
			if isNull(d, v) {
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

func (s *Stream) toolCalls(d []byte, arr span, pure *bool) {
	it, ok := open(d, arr, &s.reg)
	if !ok || it.obj {
		return
	}
	for pos := 0; ; pos++ {
		_, tc, ok := it.next()
		if !ok {
			return
		}
		idx, first := pos, len(s.slots)
		ti, ok := open(d, tc, &s.reg)
		if !ok || !ti.obj {
			continue
		}
		for {
			k, v, ok := ti.next()
			if !ok {
				break
			}
			switch {
			case keyIs(d, k, "index"):
				if n, ok := intValue(d, v); ok {
					idx = n
				}
			case keyIs(d, k, "function"):
				fi, ok := open(d, v, &s.reg)
				if !ok || !fi.obj {
					continue
				}
				for {
					fk, fv, ok := fi.next()
					if !ok {
						break
					}
					if keyIs(d, fk, "arguments") {
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
	root, err := rootObject(d)
	if err != nil {
		return s.unreadable(dst, ev, err)
	}
	if s.textDelta(d, root) {
		return s.apply(dst, ev, true)
	}
	if !validEvent(d) {
		return dst, ErrInvalidJSON
	}
	var typ, delta, block span
	idx := -1
	it, _ := open(d, root, &s.reg)
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		switch string(it.keyText(k, &s.kbuf)) {
		case "type":
			typ = v
		case "index":
			if n, ok := intValue(d, v); ok {
				idx = n
			}
		case "delta":
			delta = v
		case "content_block":
			block = v
		}
	}
	is := func(name string) bool {
		if typ.end > typ.start {
			return valueIs(d, typ, name)
		}
		return string(ev.Name) == name
	}
	pure := false
	switch {
	case is("content_block_delta"):
		if idx < 0 {
			break
		}
		dt, _ := get(d, delta, "type")
		switch {
		case valueIs(d, dt, "text_delta"):
			if v, ok := get(d, delta, "text"); ok {
				s.addSlot(d, chanKey{int32(idx), bText}, v)
			}
		case valueIs(d, dt, "input_json_delta"):
			if v, ok := get(d, delta, "partial_json"); ok {
				s.addSlot(d, chanKey{int32(idx), bJSON}, v)
			}
		}
		pure = true
	case is("content_block_start"):
		if idx < 0 {
			break
		}
		if bt, _ := get(d, block, "type"); valueIs(d, bt, "text") {
			if v, ok := get(d, block, "text"); ok {
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
func (s *Stream) textDelta(d []byte, root span) bool {
	const (
		pre   = `{"type":"content_block_delta","index":`
		delta = `,"delta":{"type":"text_delta","text":`
	)
	idx, v, esc, ok := indexedString(d, root.start, pre, delta)
	if !ok || v.end+2 != root.end || !at(d, v.end, `}}`) {
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
	root, err := rootObject(d)
	if err != nil {
		return s.unreadable(dst, ev, err)
	}
	if !validEvent(d) {
		return dst, ErrInvalidJSON
	}
	var typ, delta, text, args, part, item, resp span
	o, c := -1, -1
	it, _ := open(d, root, &s.reg)
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		switch {
		case keyIs(d, k, "type"):
			typ = v
		case keyIs(d, k, "output_index"):
			if n, ok := intValue(d, v); ok {
				o = n
			}
		case keyIs(d, k, "content_index"):
			if n, ok := intValue(d, v); ok {
				c = n
			}
		case keyIs(d, k, "delta"):
			delta = v
		case keyIs(d, k, "text"):
			text = v
		case keyIs(d, k, "arguments"):
			args = v
		case keyIs(d, k, "part"):
			part = v
		case keyIs(d, k, "item"):
			item = v
		case keyIs(d, k, "response"):
			resp = v
		}
	}
	is := func(name string) bool {
		if typ.end > typ.start {
			return valueIs(d, typ, name)
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
		return s.applyFull(dst, ev, func(w *walker) { w.str(text) })
	case is("response.function_call_arguments.done"):
		s.endKeys = append(s.endKeys, argsKey)
		return s.applyFull(dst, ev, func(w *walker) { w.str(args) })
	case is("response.content_part.done"):
		s.endKeys = append(s.endKeys, textKey)
		return s.applyFull(dst, ev, func(w *walker) { w.anthropicBlock(part) })
	case is("response.output_item.done"):
		s.endAs = append(s.endAs, int32(o))
		return s.applyFull(dst, ev, func(w *walker) { w.responsesItem(item) })
	case is("response.completed"), is("response.incomplete"), is("response.failed"):
		s.endAll = true
		return s.applyFull(dst, ev, func(w *walker) { w.output(provider.OpResponses, resp) })
	}
	return s.apply(dst, ev, false)
}

// responsesDelta records a delta's text and keeps the event as the
// channel's template for synthesized deltas.
func (s *Stream) responsesDelta(d, name []byte, k chanKey, delta span) {
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
func (s *Stream) applyFull(dst []byte, ev *sse.Event, collect func(w *walker)) ([]byte, error) {
	dst, err := s.flushEnded(dst)
	if err != nil {
		return dst, err
	}
	defer s.closeEnded()
	sc := s.p.getScratch()
	defer s.p.putScratch(sc)
	sc.w = walker{b: ev.Data, fields: sc.w.fields[:0]}
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
