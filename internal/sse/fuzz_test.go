package sse

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// FuzzReader checks the Reader's invariants on any input, read whole and in parts chosen
// by seed, with a small size limit so that ErrEventTooLarge is reached too:
//   - it never panics and ends with io.EOF or ErrEventTooLarge;
//   - the events do not depend on how the input was split into reads;
//   - they match the naive reference parser refParse;
//   - the concatenation of every Raw is the input (with io.EOF), or the input up to the
//     first event over the limit (with ErrEventTooLarge): no bytes are dropped, not even
//     an unterminated last line, which comes back in an Incomplete event;
//   - Data never holds '\r', Name and ID hold neither '\r' nor '\n';
//   - only the last event may be Incomplete, and every other Raw ends in '\r' or '\n'.
func FuzzReader(f *testing.F) {
	for _, tc := range parseCases {
		f.Add([]byte(tc.in), uint64(1), uint16(0))
	}
	f.Add(openAIStream(3), uint64(2), uint16(64))
	f.Add(anthropicStream(3), uint64(3), uint16(100))
	f.Add([]byte("data: x\r\n\r\ndata: y\r\n\r\n"), uint64(4), uint16(11))
	f.Add([]byte("\xEF\xBB\xBFdata: a\rdata: b\r\r\n:c\n\n"), uint64(5), uint16(0))

	f.Fuzz(func(t *testing.T, in []byte, seed uint64, limit uint16) {
		max := int(limit)
		if max == 0 {
			max = DefaultMaxEventSize
		}
		whole, errWhole := readAll(NewReader(bytes.NewReader(in), max))
		parts, errParts := readAll(NewReader(&cutReader{data: in, cuts: randomCuts(len(in), 1+int(seed%17), seed)}, max))

		tooLarge := errors.Is(errWhole, ErrEventTooLarge)
		if errWhole != io.EOF && !tooLarge {
			t.Fatalf("error = %v, want io.EOF or ErrEventTooLarge", errWhole)
		}
		if errors.Is(errParts, ErrEventTooLarge) != tooLarge || (!tooLarge && errParts != io.EOF) {
			t.Fatalf("whole input gave %v, parts gave %v", errWhole, errParts)
		}
		if !sameEvents(whole, parts) {
			t.Fatalf("events depend on reads\nwhole %v\nparts %v", whole, parts)
		}

		ref := refParse(in)
		if tooLarge {
			// The reference has no limit: the Reader must stop exactly at its first
			// event over the limit.
			n := len(whole)
			if n >= len(ref) || len(ref[n].Raw) <= max {
				t.Fatalf("ErrEventTooLarge after %d events, reference events %v", n, ref)
			}
			ref = ref[:n]
		}
		if !sameEvents(whole, ref) {
			t.Fatalf("events differ from the reference\n got %v\nwant %v", whole, ref)
		}

		var raw []byte
		for i, e := range whole {
			raw = append(raw, e.Raw...)
			if len(e.Raw) > max {
				t.Errorf("event %d: Raw is %d bytes, limit %d", i, len(e.Raw), max)
			}
			if e.Data != none && bytes.IndexByte([]byte(e.Data), '\r') >= 0 {
				t.Errorf("event %d: Data %q holds '\\r'", i, e.Data)
			}
			for _, s := range []string{e.Name, e.ID} {
				if s != none && bytes.ContainsAny([]byte(s), "\r\n") {
					t.Errorf("event %d: Name or ID %q holds a line break", i, s)
				}
			}
			last := i == len(whole)-1
			if e.Incomplete && (!last || tooLarge) {
				t.Errorf("event %d of %d is Incomplete", i, len(whole))
			}
			if end := e.Raw[len(e.Raw)-1]; !e.Incomplete && end != '\n' && end != '\r' {
				t.Errorf("event %d: complete event %q does not end in a line break", i, e.Raw)
			}
		}
		if tooLarge && !bytes.HasPrefix(in, raw) || !tooLarge && !bytes.Equal(raw, in) {
			t.Fatalf("concatenated Raw %q is not the input %q", raw, in)
		}
	})
}

// sameEvents is reflect.DeepEqual with nil and empty lists equal.
func sameEvents(a, b []ev) bool {
	return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b)
}

// FuzzRoundTrip checks that whatever AppendEvent writes reads back as one event with the
// same name (up to its first line break) and data (with "\r\n" and "\r" as "\n").
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("message_start"), []byte(`{"a":1}`))
	f.Add([]byte(""), []byte("a\r\nb\rc\n"))
	f.Add([]byte("x\ny"), []byte(""))
	f.Fuzz(func(t *testing.T, name, data []byte) {
		out := AppendEvent(nil, name, data)
		r := NewReader(bytes.NewReader(out), len(out))
		e, err := r.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if !bytes.Equal(e.Raw, out) || e.Incomplete {
			t.Fatalf("Raw %q (Incomplete %v), wrote %q", e.Raw, e.Incomplete, out)
		}
		if i := indexEOL(name); i >= 0 {
			name = name[:i]
		}
		if len(name) == 0 && e.Name != nil || len(name) > 0 && !bytes.Equal(e.Name, name) {
			t.Errorf("Name = %q, want %q", e.Name, name)
		}
		want := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		want = bytes.ReplaceAll(want, []byte("\r"), []byte("\n"))
		if e.Data == nil || !bytes.Equal(e.Data, want) {
			t.Errorf("Data = %q, want %q", e.Data, want)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("after the event: %v, want io.EOF", err)
		}
	})
}
