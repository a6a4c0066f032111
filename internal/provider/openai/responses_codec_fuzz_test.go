package openai

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// respSeeds adds the testdata files matching pattern to f.
func respSeeds(f *testing.F, pattern string) {
	paths, _ := filepath.Glob(filepath.Join(respTestdata, pattern))
	for _, p := range paths {
		if strings.Contains(p, ".canon.") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// A decoded request's size is bounded by its body's, and encodes into
// valid JSON that decodes again.
func FuzzResponsesDecodeRequest(f *testing.F) {
	respSeeds(f, "req_*.json")
	f.Add([]byte(`{"input":[{"type":"reasoning","summary":[{"text":"a"}],"encrypted_content":"sluice.sig:x"}]}`))
	f.Add([]byte(`{"input":[{"role":"user","content":[{"type":"input_image","image_url":"data:;base64,"}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var r canon.Request
		if err := respDecodeRequest(body, &r); err != nil {
			return
		}
		parts := len(r.System) + len(r.Tools) + len(r.Metadata)
		for _, m := range r.Messages {
			parts += len(m.Parts)
		}
		if parts > len(body) {
			t.Fatalf("%d parts from %d bytes", parts, len(body))
		}
		out, err := respEncodeRequest(nil, &r)
		if err != nil {
			return
		}
		if !gjson.Valid(wire.StringView(out)) {
			t.Fatalf("encoded request is not JSON:\n%s", out)
		}
		var back canon.Request
		if err := respDecodeRequest(out, &back); err != nil {
			t.Fatalf("encoded request does not decode: %v\n%s", err, out)
		}
	})
}

// A decoded reply encodes into valid JSON.
func FuzzResponsesDecodeReply(f *testing.F) {
	respSeeds(f, "reply_*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		var r canon.Reply
		if err := respDecodeReply(body, &r); err != nil {
			return
		}
		if len(r.Parts) > len(body) {
			t.Fatalf("%d parts from %d bytes", len(r.Parts), len(body))
		}
		if out := respEncodeReply(nil, &r, nil); !gjson.Valid(wire.StringView(out)) {
			t.Fatalf("encoded reply is not JSON:\n%s", out)
		}
	})
}

// Whatever a stream holds, the decoder's events follow the canonical
// grammar (as a prefix: the stream may stop anywhere), are bounded by the
// input, and the encoder writes them as valid JSON events.
func FuzzResponsesStreamDecode(f *testing.F) {
	respSeeds(f, "stream_*.sse")
	respSeeds(f, "enc_stream_*.sse")
	f.Fuzz(func(t *testing.T, stream []byte) {
		d := ResponsesCodec().NewDecoder()
		enc := respNewStreamEncoder(nil, func() int64 { return 1 })
		var all, buf []canon.Event
		var fr canon.Frames
		for _, e := range respFuzzEvents(stream) {
			var err error
			buf, err = d.Decode(e.name, e.data, buf[:0])
			if err != nil {
				break
			}
			if len(buf) > len(e.data)+8 {
				t.Fatalf("%d events from %d bytes", len(buf), len(e.data))
			}
			for i := range buf {
				all = append(all, respCopyEvent(buf[i]))
				fr.Reset()
				enc.Encode(&fr, &buf[i])
				for j := 0; j < fr.Len(); j++ {
					if _, data := fr.At(j); !gjson.Valid(wire.StringView(data)) {
						t.Fatalf("encoded event is not JSON: %s", data)
					}
				}
			}
		}
		if err := respCheckGrammar(all, false); err != nil {
			t.Fatalf("%v\n%s", err, respDumpEvents(t, all))
		}
	})
}

// respFuzzEvents splits a stream into events without failing: an SSE
// reader's events, or nothing when it cannot read them.
func respFuzzEvents(stream []byte) []respSSE {
	var out []respSSE
	for _, block := range strings.Split(string(stream), "\n\n") {
		var e respSSE
		for _, line := range strings.Split(block, "\n") {
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				e.name = []byte(v)
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				e.data = append(e.data, v...)
			}
		}
		if e.data != nil {
			out = append(out, e)
		}
	}
	return out
}

// An error body of any shape gives an error with a message.
func FuzzResponsesDecodeError(f *testing.F) {
	f.Add(429, []byte(`{"error":{"message":"slow","type":"requests","param":null,"code":"rate_limit_exceeded"}}`))
	f.Add(500, []byte(`{"error":"boom"}`))
	f.Add(502, []byte(`<html>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := respDecodeError(status, body)
		if e.Message == "" || e.Status != status {
			t.Fatalf("%+v", e)
		}
	})
}
