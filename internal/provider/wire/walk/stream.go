package walk

import "github.com/sluice-gw/sluice/internal/sse"

// ChanKey names one text channel of a streamed reply: a run of text the
// upstream sends in pieces over several events, such as one choice's
// content or one tool call's arguments. What A and B hold is the format's;
// the guardrails only compare keys, and end every channel of one A at once
// (StreamText.EndAs).
type ChanKey struct{ A, B int32 }

// Slot is one string of text in a stream event: the channel it continues
// and the string literal in the event's data.
type Slot struct {
	Key ChanKey
	V   Span // the string literal, quotes included
	Esc bool // it holds escapes
	// Template keeps the event as the channel's template: the shape of the
	// event the format's synthesizer writes when it releases the channel's
	// held text on its own (Template).
	Template bool
}

// Template is a channel's template event (Slot.Template): its name, its
// data, and the span in the data of the string that carries the text.
type Template struct {
	Name, Data []byte
	Text       Span
}

// StreamText is what a format's stream reader (wire.Hooks' StreamText)
// reports about one event of a streamed reply, and what it keeps between
// the events of one stream. The guardrails own one per stream and Reset it
// before each event; the slices keep their arrays, so that a stream reads
// its events without allocating.
type StreamText struct {
	// Of the event being read.
	Slots   []Slot    // its strings of text, in order
	EndAll  bool      // it ends every channel
	EndAs   []int32   // it ends every channel whose key's A is listed
	EndKeys []ChanKey // it ends these channels
	// Full reports an event that repeats whole texts (a Responses *.done
	// event), which the reader collected in W: they are redacted as in a
	// buffered reply, after the channels the event ends are flushed.
	Full bool
	W    Walker   // Full's texts
	Reg  Closed   // shared by the iterators walking the event
	KBuf [64]byte // for Iter.KeyText

	// Of the stream, kept between its events for the format's use: an
	// OpenAI chunk's members other than its choices (id, object, created,
	// model, ...) each followed by a comma, from which it writes chunks of
	// its own.
	Head     []byte
	HaveHead bool

	// Data is scratch for the data of an event written anew.
	Data []byte
}

// Reset clears what StreamText holds of the event read last.
func (st *StreamText) Reset() {
	st.Slots = st.Slots[:0]
	st.EndAll = false
	st.EndAs = st.EndAs[:0]
	st.EndKeys = st.EndKeys[:0]
	st.Full = false
	st.Reg = Closed{}
}

// Clear empties StreamText for another stream, keeping its arrays.
func (st *StreamText) Clear() {
	*st = StreamText{Slots: st.Slots[:0], EndAs: st.EndAs[:0], EndKeys: st.EndKeys[:0],
		W: Walker{Fields: st.W.Fields[:0]}, Head: st.Head[:0], Data: st.Data[:0]}
}

// AddSlot records the string value v of the event's data d as text of
// channel k, and reports whether it did: v must be a whole string.
func (st *StreamText) AddSlot(d []byte, k ChanKey, v Span) bool {
	if !IsString(d, v) {
		return false
	}
	e, esc := StrEnd(d, v.Start)
	if e != v.End {
		return false
	}
	st.Slots = append(st.Slots, Slot{Key: k, V: v, Esc: esc})
	return true
}

// Unreadable is what a stream reader answers for an event whose data is
// not a JSON object (err, from RootObject, says how): one with no data, or
// "[DONE]", carries no text and is relayed as it came (nil); any other
// could hide text from the scan, so it is err, and the stream ends there.
func Unreadable(data []byte, err error) error {
	if len(data) == 0 || string(data) == sse.DoneData {
		return nil
	}
	return err
}

// IndexedString reads, at i, the bytes pre, a channel index of at most 9
// digits, the bytes mid and a JSON string: the shape the readers' fast
// paths recognise. v spans the string with its quotes; esc reports escapes
// in it. The index and the string must be valid JSON, so that an event a
// fast path takes is valid JSON by construction.
func IndexedString(d []byte, i int, pre, mid string) (idx int, v Span, esc, ok bool) {
	if !At(d, i, pre) {
		return 0, Span{}, false, false
	}
	i += len(pre)
	n := i
	for n < len(d) && n-i < 9 && d[n] >= '0' && d[n] <= '9' {
		n++
	}
	if idx, ok = IntValue(d, Span{Start: i, End: n}); !ok || !ValidIndex(d, i, n) || !At(d, n, mid) {
		return 0, Span{}, false, false
	}
	v = Span{Start: n + len(mid)}
	if v.Start >= len(d) || d[v.Start] != '"' {
		return 0, Span{}, false, false
	}
	if v.End, esc = StrEnd(d, v.Start); v.End < 0 || !ValidString(d, v) {
		return 0, Span{}, false, false
	}
	return idx, v, esc, true
}

// At reports whether b holds lit at i.
func At(b []byte, i int, lit string) bool {
	return i >= 0 && i <= len(b) && len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}
