package guard

import (
	"github.com/sluice-gw/sluice/internal/guard/detect"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
	"github.com/sluice-gw/sluice/internal/sse"
)

// channel is the text of one channel (walk.ChanKey: the formats name
// them): the part still held back and some released text before it as
// context.
type channel struct {
	key   walk.ChanKey
	buf   []byte // text positions [base, base+len(buf))
	base  int
	rel   int        // text before rel has been released
	scans []ruleScan // per output rule
	known []hit      // final finder matches that start at or after rel
	// The format's template event for the text it synthesizes on this
	// channel (walk.Slot.Template): a Responses delta event, replayed with
	// other text when the held tail is flushed at the channel's end.
	tmpl walk.Template
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

// slot is what feed made of the guarded string of the same index in the
// event being handled (walk.StreamText.Slots).
type slot struct {
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
	hooks  *wire.Hooks // of op's format: reads the events (StreamText), writes text of its own (SynthText)
	chans  []*channel  // open channels
	free   []*channel
	counts []int // per output rule
	err    error

	// What the format read of the event being handled (its strings of
	// text, the channels it ends), and its own state for the stream.
	st    walk.StreamText
	slots []slot // per st.Slots
	hits  []hit
	picks []hit
	ms    []detect.Match
	rel   []byte // released text of the event's slots
	tmp   []byte
}

// NewStream returns a scanner for one streamed reply of the given format
// and operation. The format that serves op reads its events (f is the
// format of the reply: today always op's). Call Release when done with it.
func (p *Policy) NewStream(f provider.Format, op provider.Operation) *Stream {
	s, _ := p.streams.Get().(*Stream)
	if s == nil {
		s = &Stream{p: p}
	}
	s.op = op
	s.hooks = provider.OperationFormat(op).Hooks()
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
	if cap(s.rel) > maxKept || cap(s.st.Data) > maxKept || cap(s.tmp) > maxKept {
		return
	}
	p := s.p
	clear(s.chans)
	st := s.st
	st.Clear()
	*s = Stream{p: p, chans: s.chans[:0], free: s.free, counts: s.counts[:0], st: st,
		slots: s.slots[:0], hits: s.hits[:0], picks: s.picks[:0], ms: s.ms[:0], rel: s.rel[:0], tmp: s.tmp[:0]}
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
	s.st.Reset()
	pure, err := s.hooks.StreamText(&s.st, s.op, ev.Name, ev.Data)
	if err == nil {
		if s.st.Full {
			dst, err = s.applyFull(dst, ev)
		} else {
			dst, err = s.apply(dst, ev, pure)
		}
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
	s.st.Reset()
	s.st.EndAll = true
	dst, err := s.flushEnded(dst)
	if err != nil {
		s.err = err
		return dst[:n0]
	}
	s.closeEnded()
	return dst
}

// ends reports whether the event being handled ends channel k.
func (s *Stream) ends(k walk.ChanKey) bool {
	if s.st.EndAll {
		return true
	}
	for _, a := range s.st.EndAs {
		if a == k.A {
			return true
		}
	}
	for _, e := range s.st.EndKeys {
		if e == k {
			return true
		}
	}
	return false
}

func (s *Stream) channel(k walk.ChanKey) *channel {
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
	if cap(ch.buf) > maxKept || cap(ch.tmpl.Data) > maxKept {
		return
	}
	*ch = channel{buf: ch.buf[:0], scans: ch.scans[:0], known: ch.known[:0],
		tmpl: walk.Template{Name: ch.tmpl.Name[:0], Data: ch.tmpl.Data[:0]}}
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

// feed appends the slots' text to their channels (keeping the templates
// the format marked) and releases what it can, into s.rel.
func (s *Stream) feed(name, data []byte) error {
	slots := s.st.Slots
	if cap(s.slots) < len(slots) {
		s.slots = make([]slot, len(slots), 2*len(slots))
	}
	ss := s.slots[:len(slots)]
	s.slots = ss
	// Only the last slot of a channel in the event flushes it.
	for i := range slots {
		final := s.ends(slots[i].Key)
		for j := i + 1; j < len(slots); j++ {
			if slots[j].Key == slots[i].Key {
				final = false
			}
		}
		ss[i].final = final
	}
	s.rel = s.rel[:0]
	for i := range slots {
		sl := &slots[i]
		ch := s.channel(sl.Key)
		if sl.Template {
			ch.tmpl.Name = append(ch.tmpl.Name[:0], name...)
			ch.tmpl.Data = append(ch.tmpl.Data[:0], data...)
			ch.tmpl.Text = sl.V
		}
		before := len(ch.buf)
		raw := data[sl.V.Start+1 : sl.V.End-1]
		if sl.Esc {
			ch.buf = walk.AppendUnescaped(ch.buf, raw)
		} else {
			ch.buf = append(ch.buf, raw...)
		}
		r0, n := ch.rel, ch.end()
		start := len(s.rel)
		var cut int
		var red bool
		var err error
		s.rel, cut, red, err = s.release(ch, ss[i].final, s.rel)
		if err != nil {
			return err
		}
		ss[i].rel = walk.Span{Start: start, End: len(s.rel)}
		ss[i].same = !red && r0 == n-(len(ch.buf)-before) && cut == n
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
			dst = s.hooks.SynthText(dst, &s.st, s.op, ch.key, &ch.tmpl, s.tmp)
		}
	}
	return dst, nil
}

func (s *Stream) hasSlot(k walk.ChanKey) bool {
	for i := range s.st.Slots {
		if s.st.Slots[i].Key == k {
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
	if err := s.feed(ev.Name, ev.Data); err != nil {
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
	s.st.Data = s.rewrite(s.st.Data[:0], ev.Data)
	return sse.AppendEvent(dst, ev.Name, s.st.Data), nil
}

// rewrite appends d with each slot's string replaced by its released text.
func (s *Stream) rewrite(dst, d []byte) []byte {
	pos := 0
	for i := range s.slots {
		v, rel := s.st.Slots[i].V, s.slots[i].rel
		dst = append(dst, d[pos:v.Start]...)
		dst = provider.AppendJSONString(dst, bytesView(s.rel[rel.Start:rel.End]))
		pos = v.End
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

// applyFull handles an event that repeats whole texts (st.Full): it
// flushes the channels the event ends, then relays the event with the texts
// the format collected (st.W) redacted as in a buffered reply (the same
// result as the deltas the client got). A block match there is a
// violation. (The event was validated before: redactFields' own check
// cannot fail here.)
func (s *Stream) applyFull(dst []byte, ev *sse.Event) ([]byte, error) {
	dst, err := s.flushEnded(dst)
	if err != nil {
		return dst, err
	}
	defer s.closeEnded()
	sc := s.p.getScratch()
	defer s.p.putScratch(sc)
	sc.counts = resize(sc.counts, len(s.p.out)) // counted by the deltas already
	out, edited, _, blocked, err := redactFields(sc, s.st.W.Fields, s.p.out, ev.Data, s.st.Data[:0], sc.counts, false)
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
	s.st.Data = out
	return sse.AppendEvent(dst, ev.Name, out), nil
}
