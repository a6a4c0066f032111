package gemini

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
)

// The fuzz targets assert that no decoder panics and that what one decodes
// is bounded by its input: never more text than it read (plus the ids and
// braces it makes), and an encoding of the result that stays valid JSON.

func seeds(f *testing.F, pattern string) {
	names, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			f.Add(b)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	seeds(f, "request/*.json")
	f.Add([]byte(`{"contents":[{"parts":[{"functionResponse":{"name":"f","response":{"error":{"a":1}}}}]}]}`))
	c := GenerateCodec()
	f.Fuzz(func(t *testing.T, body []byte) {
		var r canon.Request
		if err := c.DecodeRequest(body, &r); err != nil {
			return
		}
		n := 0
		for _, m := range r.Messages {
			for _, p := range m.Parts {
				n += len(p.Text) + len(p.Data) + len(p.Args) + len(p.Signature)
			}
		}
		if n > len(body)+16*len(r.Messages) {
			t.Fatalf("decoded %d bytes of text from %d", n, len(body))
		}
		r.Model = "gemini-3-flash"
		b, err := c.EncodeRequest(nil, &r)
		if err == nil && !walk.ValidEvent(b) {
			t.Fatalf("encoding is not JSON: %s", b)
		}
	})
}

func FuzzDecodeReply(f *testing.F) {
	seeds(f, "reply/*.json")
	c := GenerateCodec()
	f.Fuzz(func(t *testing.T, body []byte) {
		var r canon.Reply
		if err := c.DecodeReply(body, &r); err != nil {
			return
		}
		if len(r.Parts) > len(body) {
			t.Fatalf("%d parts from %d bytes", len(r.Parts), len(body))
		}
		if b := c.EncodeReply(nil, &r, &canon.Request{}); !walk.ValidEvent(b) {
			t.Fatalf("encoding is not JSON: %s", b)
		}
	})
}

func FuzzStreamDecoder(f *testing.F) {
	seeds(f, "stream/*.sse")
	c := GenerateCodec()
	f.Fuzz(func(t *testing.T, stream []byte) {
		d := c.NewDecoder()
		e := c.NewEncoder(&canon.Request{})
		var out []canon.Event
		var fr canon.Frames
		// Each line is an event's data, as the SSE reader would give it.
		start := 0
		for i := 0; i <= len(stream); i++ {
			if i < len(stream) && stream[i] != '\n' {
				continue
			}
			data := stream[start:i]
			start = i + 1
			var err error
			out, err = d.Decode(nil, data, out[:0])
			if err != nil {
				return
			}
			if len(out) > 8+4*len(data) {
				t.Fatalf("%d events from %d bytes", len(out), len(data))
			}
			for k := range out {
				fr.Reset()
				e.Encode(&fr, &out[k])
				for j := 0; j < fr.Len(); j++ {
					if _, d := fr.At(j); !walk.ValidEvent(d) {
						t.Fatalf("encoded frame is not JSON: %s", d)
					}
				}
			}
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	f.Add([]byte(`{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}`))
	f.Add([]byte(`[{"error":{"code":"400","message":"bad","status":"INVALID_ARGUMENT"}}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e := decodeError(500, body)
		if len(e.Message) > len(body)+100 || e.Status != 500 {
			t.Fatalf("error %+v from %d bytes", e, len(body))
		}
		if b := appendCanonError(nil, &e); !walk.ValidEvent(b) {
			t.Fatalf("not JSON: %s", b)
		}
	})
}

func FuzzDecodeEmbed(f *testing.F) {
	f.Add([]byte(`{"content":{"parts":[{"text":"a"}]},"taskType":"X","outputDimensionality":"8"}`))
	f.Add([]byte(`{"requests":[{"model":"models/m","content":{"parts":[{"text":"a"}]}}]}`))
	f.Add([]byte(`{"embeddings":[{"values":[1,2.5e3]}],"usageMetadata":{"promptTokenCount":3}}`))
	c := EmbedCodec()
	f.Fuzz(func(t *testing.T, body []byte) {
		var r canon.EmbedRequest
		if c.DecodeRequest(body, &r) == nil {
			if len(r.Inputs) > len(body) {
				t.Fatalf("%d inputs from %d bytes", len(r.Inputs), len(body))
			}
			if b, err := c.EncodeRequest(nil, &r); err == nil && !walk.ValidEvent(b) {
				t.Fatalf("not JSON: %s", b)
			}
		}
		var rep canon.EmbedReply
		if c.DecodeReply(body, &rep) == nil && len(rep.Vectors) > len(body) {
			t.Fatalf("%d vectors from %d bytes", len(rep.Vectors), len(body))
		}
	})
}

func FuzzStreamText(f *testing.F) {
	seeds(f, "reply/*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		var st walk.StreamText
		if _, err := streamText(&st, wire.OpChat, nil, data); err != nil {
			return
		}
		for _, s := range st.Slots {
			if s.V.Start < 0 || s.V.End > len(data) || s.V.Start >= s.V.End {
				t.Fatalf("slot %+v out of %d bytes", s.V, len(data))
			}
		}
		var u wire.Usage
		var seq int64
		streamEvent(wire.OpChat, nil, data, &u, &seq)
	})
}
