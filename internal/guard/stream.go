package guard

import (
	"github.com/sluice-gw/sluice/internal/guard/detect"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
	"github.com/sluice-gw/sluice/internal/sse"
)

// chanKey names one text channel of a stream. OpenAI: a = choice index,
// b = tool call index, bText for content or bRefusal for refusal. Anthropic: a = content block
// index, b = bText or bJSON. Responses: a = output_index, b = content_index
// or -1 for function call arguments.
type chanKey struct{ a, b int32 }

const (
	bText    int32 = -1
	bJSON    int32 = -2
	bRefusal int32 = -3
)

// channel is the text of one channel: the part still held back and some
// released text before it as context.
type channel struct {
	key   chanKey
	buf   []byte // text positions [base, base+len(buf))
	base  int
	rel   int        // text before rel has been released
	scans []ruleScan // per output rule
	known []hit      // final finder matches that start at or after rel
	// A Responses delta event of this channel, replayed with other text
	// when the held tail is flushed at the channel's end.
	tmpl     []byte
	tmplName []byte
	tmplText walk.Span
}

func (ch *channel) end() int { return ch.base + len(ch.buf) }

// compact drops released text that is no longer needed as context, when
// that halves the buffer (so copies stay amortised O(1) per byte).
func (ch *channel) compact(keep int) {
	drop := ch.rel - keep - ch.base
	if drop <= 0 || drop < len(ch.buf)/2 {
		return
	}
	n := copy(ch.buf, ch.buf[drop:])
	ch.buf = ch.buf[:n]
	ch.base += drop
}

// slot is one guarded string of the event being handled.
type slot struct {
	key   chanKey
	v     walk.Span // the string literal in the event's data
	esc   bool
	rel   walk.Span // the text released in its place, in Stream.rel
	same  bool      // rel is exactly the slot's own text: no rewrite needed
	final bool      // the event ends the slot's channel
}

// Stream scans the text of one streamed reply with a policy's output rules,
// event by event. See the package documentation for what it holds back and
// why. A Stream is not safe for concurrent use; Release returns it to its
// policy's pool.
type Stream struct {
	p      *Policy
	op     provider.Operation
	chans  []*channel // open channels
	free   []*channel
	counts []int // per output rule
	err    error

	reg      walk.Closed // of the event being handled
	head     []byte      // OpenAI: the chunks' top-level members but choices, for synthesized chunks
	haveHead bool
	kbuf     [64]byte // keyText's buffer
	// The channels the event being handled ends.
	endAll  bool
	endAs   []int32 // every channel whose key.a is listed
	endKeys []chanKey

	slots []slot
	hits  []hit
	picks []hit
	ms    []detect.Match
	rel   []byte // released text of the event's slots
	data  []byte // an event's rewritten data
	tmp   []byte
}

// NewStream returns a scanner for one streamed reply of the given format
// and operation. Call Release when done with it.
func (p *Policy) NewStream(f provider.Format, op provider.Operation) *Stream {
	s, _ := p.streams.Get().(*Stream)
	if s == nil {
		s = &Stream{p: p}
	}
	s.op = op
	if f == provider.FormatAnthropic && op != provider.OpCountTokens {
		s.op = provider.OpMessages
	}
	s.counts = resize(s.counts, len(p.out))
	return s
}

// Release returns the Stream to its policy's pool; it must not be used
// after.
func (s *Stream) Release() {
	for _, ch := range s.chans {
		s.recycle(ch)
	}
	const maxKept = 64 << 10
	if cap(s.rel) > maxKept || cap(s.data) > maxKept || cap(s.tmp) > maxKept {
		return
	}
	p := s.p
	clear(s.chans)
	*s = Stream{p: p, chans: s.chans[:0], free: s.free, counts: s.counts[:0], head: s.head[:0],
		endAs: s.endAs[:0], endKeys: s.endKeys[:0], slots: s.slots[:0], hits: s.hits[:0],
		picks: s.picks[:0], ms: s.ms[:0], rel: s.rel[:0], data: s.data[:0], tmp: s.tmp[:0]}
	p.streams.Put(s)
}

// Err returns the violation that ended the stream, if any: after Event
// returned it, or when Finish found a block match in the held text.
func (s *Stream) Err() error { return s.err }

// Verdicts appends to v a Verdict for each output rule that matched in the
// text released or blocked so far. Each call reports the totals.
func (s *Stream) Verdicts(v []Verdict) []Verdict {
	for i, r := range s.p.out {
		if i < len(s.counts) && s.counts[i] > 0 {
			v = append(v, Verdict{Rule: r.name, Action: r.action, Scope: Output, Count: s.counts[i]})
		}
	}
	return v
}

// Event appends to dst the SSE bytes the client is to see for one upstream
// event: its Raw unchanged when the guarded text passes as it came, a
// rewrite of it (same shape, every other field kept) carrying the text that
// can be released now, nothing while all of its text is held back, or, at
// the end of a channel, the held tail first as events of the format. On a
// block match it returns a *Violation and appends nothing for this event;
// the caller ends the stream (later calls return the same error). So it
// does for an event whose data is not a valid JSON object (ErrNotObject,
// ErrInvalidJSON), whose text could not be scanned; an event with no data,
// or [DONE], passes as it came.
func (s *Stream) Event(dst []byte, ev *sse.Event) ([]byte, error) {
	if s.err != nil {
		return dst, s.err
	}
	if len(s.p.out) == 0 {
		return append(dst, ev.Raw...), nil
	}
	n0 := len(dst)
	var err error
	switch s.op {
	case provider.OpChat, provider.OpCompletions:
		dst, err = s.openaiEvent(dst, ev)
	case provider.OpMessages:
		dst, err = s.anthropicEvent(dst, ev)
	case provider.OpResponses:
		dst, err = s.responsesEvent(dst, ev)
	default:
		dst = append(dst, ev.Raw...)
	}
	if err != nil {
		s.err = err
		return dst[:n0], err
	}
	return dst, nil
}

// Finish flushes the text still held when the upstream ended without its
// terminal event: the rest of each channel, scanned as the end of its text,
// as events of the format. A block match in it appends nothing more; Err
// reports it.
func (s *Stream) Finish(dst []byte) []byte {
	if s.err != nil || len(s.p.out) == 0 {
		return dst
	}
	n0 := len(dst)
	s.resetEnds()
	s.endAll = true
	dst, err := s.flushEnded(dst)
	if err != nil {
		s.err = err
		return dst[:n0]
	}
	s.closeEnded()
	return dst
}

func (s *Stream) resetEnds() {
	s.reg = walk.Closed{}
	s.endAll = false
	s.endAs = s.endAs[:0]
	s.endKeys = s.endKeys[:0]
	s.slots = s.slots[:0]
}

// ends reports whether the event being handled ends channel k.
func (s *Stream) ends(k chanKey) bool {
	if s.endAll {
		return true
	}
	for _, a := range s.endAs {
		if a == k.a {
			return true
		}
	}
	for _, e := range s.endKeys {
		if e == k {
			return true
		}
	}
	return false
}

func (s *Stream) channel(k chanKey) *channel {
	for _, ch := range s.chans {
		if ch.key == k {
			return ch
		}
	}
	var ch *channel
	if n := len(s.free); n > 0 {
		ch = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		ch = &channel{}
	}
	ch.key = k
	ch.scans = ch.scans[:0]
	for _, r := range s.p.out {
		ch.scans = append(ch.scans, ruleScan{credit: r.scanCap})
	}
	s.chans = append(s.chans, ch)
	return ch
}

func (s *Stream) recycle(ch *channel) {
	const maxKept = 64 << 10
	if cap(ch.buf) > maxKept || cap(ch.tmpl) > maxKept {
		return
	}
	*ch = channel{buf: ch.buf[:0], scans: ch.scans[:0], known: ch.known[:0], tmpl: ch.tmpl[:0], tmplName: ch.tmplName[:0]}
	s.free = append(s.free, ch)
}

// closeEnded drops the channels the event ended.
func (s *Stream) closeEnded() {
	kept := s.chans[:0]
	for _, ch := range s.chans {
		if s.ends(ch.key) {
			s.recycle(ch)
			continue
		}
		kept = append(kept, ch)
	}
	clear(s.chans[len(kept):])
	s.chans = kept
}

// feed appends the slots' text to their channels and releases what it can,
// into s.rel.
func (s *Stream) feed(data []byte) error {
	// Only the last slot of a channel in the event flushes it.
	for i := range s.slots {
		sl := &s.slots[i]
		sl.final = s.ends(sl.key)
		for j := i + 1; j < len(s.slots); j++ {
			if s.slots[j].key == sl.key {
				sl.final = false
			}
		}
	}
	s.rel = s.rel[:0]
	for i := range s.slots {
		sl := &s.slots[i]
		ch := s.channel(sl.key)
		before := len(ch.buf)
		raw := data[sl.v.Start+1 : sl.v.End-1]
		if sl.esc {
			ch.buf = walk.AppendUnescaped(ch.buf, raw)
		} else {
			ch.buf = append(ch.buf, raw...)
		}
		r0, n := ch.rel, ch.end()
		start := len(s.rel)
		var cut int
		var red bool
		var err error
		s.rel, cut, red, err = s.release(ch, sl.final, s.rel)
		if err != nil {
			return err
		}
		sl.rel = walk.Span{Start: start, End: len(s.rel)}
		sl.same = !red && r0 == n-(len(ch.buf)-before) && cut == n
	}
	return nil
}

// flushEnded appends, for each open channel the event ends and none of its
// slots carries, the channel's held text as a synthesized event.
func (s *Stream) flushEnded(dst []byte) ([]byte, error) {
	for _, ch := range s.chans {
		if !s.ends(ch.key) || s.hasSlot(ch.key) {
			continue
		}
		var err error
		s.tmp, _, _, err = s.release(ch, true, s.tmp[:0])
		if err != nil {
			return dst, err
		}
		if len(s.tmp) > 0 {
			dst = s.synth(dst, ch, s.tmp)
		}
	}
	return dst, nil
}

func (s *Stream) hasSlot(k chanKey) bool {
	for i := range s.slots {
		if s.slots[i].key == k {
			return true
		}
	}
	return false
}

// apply handles an event whose slots and endings are parsed: it flushes the
// channels the event ends without carrying their text, feeds the slots, and
// appends the event as it came, rewritten, or (pure: it says nothing but its
// text, and all of that is held) not at all.
func (s *Stream) apply(dst []byte, ev *sse.Event, pure bool) ([]byte, error) {
	dst, err := s.flushEnded(dst)
	if err != nil {
		return dst, err
	}
	if err := s.feed(ev.Data); err != nil {
		return dst, err
	}
	defer s.closeEnded()
	same, empty := true, true
	for i := range s.slots {
		same = same && s.slots[i].same
		empty = empty && s.slots[i].rel.End == s.slots[i].rel.Start
	}
	switch {
	case same:
		return append(dst, ev.Raw...), nil
	case empty && pure:
		return dst, nil
	}
	if pre, ok := framing(ev); ok {
		// The rewrite is one line too (JSON strings escape line breaks):
		// written straight after the event's own framing.
		dst = s.rewrite(append(dst, pre...), ev.Data)
		return append(dst, '\n', '\n'), nil
	}
	s.data = s.rewrite(s.data[:0], ev.Data)
	return sse.AppendEvent(dst, ev.Name, s.data), nil
}

// rewrite appends d with each slot's string replaced by its released text.
func (s *Stream) rewrite(dst, d []byte) []byte {
	pos := 0
	for i := range s.slots {
		sl := &s.slots[i]
		dst = append(dst, d[pos:sl.v.Start]...)
		dst = provider.AppendJSONString(dst, bytesView(s.rel[sl.rel.Start:sl.rel.End]))
		pos = sl.v.End
	}
	return append(dst, d[pos:]...)
}

// framing returns the bytes of ev.Raw before its data when Raw is exactly
// ["event: NAME\n"] "data: DATA\n\n", one data line: the shape every
// provider sends. It is decided by lengths alone: had DATA's line in Raw
// held a line break, the parsed Data would be shorter than it (a joined
// data line loses its "data:" prefix, any other line is dropped).
func framing(ev *sse.Event) ([]byte, bool) {
	raw, name := ev.Raw, ev.Name
	n := len(raw) - len(ev.Data) - 2
	want := len("data: ")
	if len(name) > 0 {
		want += len("event: \n") + len(name)
	}
	if n != want || raw[len(raw)-2] != '\n' || raw[len(raw)-1] != '\n' || string(raw[n-6:n]) != "data: " {
		return nil, false
	}
	if len(name) > 0 && (string(raw[:7]) != "event: " || string(raw[7:7+len(name)]) != string(name) || raw[7+len(name)] != '\n') {
		return nil, false
	}
	return raw[:n], true
}

// synth appends an event of the stream's format that carries text on
// channel ch, shaped like the upstream's own.
func (s *Stream) synth(dst []byte, ch *channel, text []byte) []byte {
	d := s.data[:0]
	switch s.op {
	case provider.OpChat, provider.OpCompletions:
		d = append(d, '{')
		d = append(d, s.head...)
		d = append(d, `"choices":[{`...)
		if s.op == provider.OpCompletions {
			d = append(d, `"text":`...)
			d = provider.AppendJSONString(d, bytesView(text))
			d = append(d, `,"index":`...)
			d = appendInt(d, ch.key.a)
		} else {
			d = append(d, `"index":`...)
			d = appendInt(d, ch.key.a)
			switch {
			case ch.key.b == bRefusal:
				d = append(d, `,"delta":{"refusal":`...)
				d = provider.AppendJSONString(d, bytesView(text))
				d = append(d, '}')
			case ch.key.b < 0:
				d = append(d, `,"delta":{"content":`...)
				d = provider.AppendJSONString(d, bytesView(text))
				d = append(d, '}')
			default:
				d = append(d, `,"delta":{"tool_calls":[{"index":`...)
				d = appendInt(d, ch.key.b)
				d = append(d, `,"function":{"arguments":`...)
				d = provider.AppendJSONString(d, bytesView(text))
				d = append(d, `}}]}`...)
			}
		}
		d = append(d, `,"logprobs":null,"finish_reason":null}]}`...)
		s.data = d
		return sse.AppendData(dst, d)
	case provider.OpMessages:
		d = append(d, `{"type":"content_block_delta","index":`...)
		d = appendInt(d, ch.key.a)
		if ch.key.b == bJSON {
			d = append(d, `,"delta":{"type":"input_json_delta","partial_json":`...)
		} else {
			d = append(d, `,"delta":{"type":"text_delta","text":`...)
		}
		d = provider.AppendJSONString(d, bytesView(text))
		d = append(d, `}}`...)
		s.data = d
		return sse.AppendEvent(dst, []byte("content_block_delta"), d)
	case provider.OpResponses:
		if len(ch.tmpl) == 0 {
			return dst
		}
		d = append(d, ch.tmpl[:ch.tmplText.Start]...)
		d = provider.AppendJSONString(d, bytesView(text))
		d = append(d, ch.tmpl[ch.tmplText.End:]...)
		s.data = d
		return sse.AppendEvent(dst, ch.tmplName, d)
	}
	return dst
}

func appendInt(dst []byte, n int32) []byte {
	if n < 0 {
		dst = append(dst, '-')
		n = -n
	}
	var b [12]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}
