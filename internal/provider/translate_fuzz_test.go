package provider_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// requestBound is how much larger than the client's body a translated
// request may be: the encoders add defaults (max_tokens, schemas of tools
// without one, stream options) and escape what they copy, never more.
func requestBound(in int) int { return 16*in + 64<<10 }

// FuzzTranslateRequest reads random bytes as a request of each client
// format and encodes what decodes for every upstream format: no panic; a
// refusal is a *canon.FieldError (or canon.ErrInvalidJSON from the
// decoder), which the gateway answers 400; an encoded request is JSON of
// bounded size.
func FuzzTranslateRequest(f *testing.F) {
	cs := clients()
	for i, c := range cs {
		for _, name := range requestCases {
			f.Add(uint8(i), readIn(f, c.name+".request."+name+".json"))
		}
	}
	f.Add(uint8(0), []byte(`{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"a"}}]}`))
	f.Add(uint8(3), []byte(`{"contents":[{"parts":[{"functionResponse":{"name":"f","response":{}}}]}]}`))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		c := cs[int(which)%len(cs)]
		var r canon.Request
		if err := c.codec().DecodeRequest(body, &r); err != nil {
			checkRefusal(t, c.name+" DecodeRequest", err)
			return
		}
		for _, up := range xformats {
			r.Model = up.model
			out, err := up.codec().EncodeRequest(nil, &r)
			if err != nil {
				checkRefusal(t, up.name+" EncodeRequest", err)
				continue
			}
			if len(out) > requestBound(len(body)) {
				t.Fatalf("%s to %s: %d bytes in, %d out", c.name, up.name, len(body), len(out))
			}
			if !json.Valid(out) {
				t.Fatalf("%s to %s: the request is not JSON:\n%s", c.name, up.name, out)
			}
		}
	})
}

func checkRefusal(t *testing.T, what string, err error) {
	var fe *canon.FieldError
	if !errors.As(err, &fe) && !errors.Is(err, canon.ErrInvalidJSON) {
		t.Fatalf("%s: %v is neither a *canon.FieldError nor canon.ErrInvalidJSON", what, err)
	}
}

// eventBound is how much client stream one upstream event may become:
// the encoders that repeat the reply so far (Responses' output_item.done
// and response.completed) may write the whole stream read up to then
// again.
func eventBound(event, seen int) int { return 16*event + 8*seen + 64<<10 }

// FuzzTranslateStream reads random bytes as a stream of each upstream
// format (SSE, or Converse's "<event type> <payload>" lines) through its
// decoder and each client format's encoder: no panic, the decoder's events
// follow canon's grammar until it fails or the stream ends, every client
// event is JSON (or [DONE]), and what one upstream event becomes is
// bounded.
func FuzzTranslateStream(f *testing.F) {
	cs := clients()
	for u, up := range xformats {
		name := up.name + ".stream.sse"
		if up.op == provider.OpConverse {
			name = up.name + ".stream.txt"
		}
		in := readIn(f, name)
		for c := range cs {
			f.Add(uint8(u+len(xformats)*c), in)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		up, c := xformats[int(which)%len(xformats)], cs[int(which)/len(xformats)%len(cs)]
		var evs []rawEvent
		if up.op == provider.OpConverse {
			evs = readConverse(data)
		} else {
			evs, _ = parseSSE(data) // a broken stream ends where it breaks
		}
		checkStream(t, up, c, evs)
	})
}

// checkStream runs evs through up's decoder and c's encoder, checking what
// FuzzTranslateStream promises.
func checkStream(t *testing.T, up, c xformat, evs []rawEvent) {
	t.Helper()
	req := &canon.Request{Model: up.model, Stream: true, IncludeUsage: true}
	dec, enc := up.codec().NewDecoder(), c.codec().NewEncoder(req)
	var g grammar
	var frames canon.Frames
	var buf []canon.Event
	seen := 0
	for _, e := range evs {
		seen += len(e.name) + len(e.data)
		var err error
		if buf, err = dec.Decode(e.name, e.data, buf[:0]); err != nil {
			return // the gateway ends the stream with the client's error event
		}
		frames.Reset()
		for i := range buf {
			if err := g.step(&buf[i]); err != nil {
				t.Fatalf("%s decoder: %v", up.name, err)
			}
			enc.Encode(&frames, &buf[i])
		}
		size := 0
		for i := range frames.Len() {
			name, data := frames.At(i)
			size += len(name) + len(data)
			if string(data) != "[DONE]" && !json.Valid(data) {
				t.Fatalf("%s encoder (from %s): event %q is not JSON: %s", c.name, up.name, name, data)
			}
		}
		if size > eventBound(len(e.name)+len(e.data), seen) {
			t.Fatalf("%s to %s: an event of %d bytes became %d", up.name, c.name, len(e.name)+len(e.data), size)
		}
	}
}
