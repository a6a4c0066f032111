package anthropic

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

func FuzzCodecDecodeRequest(f *testing.F) {
	for _, name := range []string{"claude_code", "documents", "minimal"} {
		f.Add(codecRead(f, name+".request.json"))
	}
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","data":"\n\u0001"},"context":"c"}]}],"cache_control":{"type":"ephemeral"}}`))
	f.Add([]byte(`{"thinking":{"type":"adaptive"},"output_config":{"effort":"max"},"tools":[{"name":"a","cache_control":{"type":"ephemeral"}}]}`))
	codec := MessagesCodec()
	f.Fuzz(func(t *testing.T, body []byte) {
		var r canon.Request
		if err := codec.DecodeRequest(body, &r); err != nil {
			return
		}
		for _, model := range []string{"claude-sonnet-4-5", "claude-opus-4-7", "unknown"} {
			r.Model = model
			out, err := codec.EncodeRequest(nil, &r)
			if err != nil {
				continue
			}
			if !gjson.ValidBytes(out) {
				t.Fatalf("%s: not JSON: %s", model, out)
			}
			if len(out) > 8*len(body)+4096 {
				t.Fatalf("%s: %d bytes from %d", model, len(out), len(body))
			}
			var again canon.Request
			if err := codec.DecodeRequest(out, &again); err != nil {
				t.Fatalf("%s: the encoded request does not decode: %v\n%s", model, err, out)
			}
		}
	})
}

func FuzzCodecDecodeReply(f *testing.F) {
	for _, name := range []string{"tools", "stop_sequence"} {
		f.Add(codecRead(f, name+".reply.json"))
	}
	f.Add([]byte(`{"content":[{"type":"tool_use","input":"x"}],"usage":{"input_tokens":-5,"cache_read_input_tokens":9}}`))
	codec := MessagesCodec()
	f.Fuzz(func(t *testing.T, body []byte) {
		var r canon.Reply
		if err := codec.DecodeReply(body, &r); err != nil {
			return
		}
		out := codec.EncodeReply(nil, &r, nil)
		if !gjson.ValidBytes(out) {
			t.Fatalf("not JSON: %s", out)
		}
		if len(out) > 8*len(body)+4096 {
			t.Fatalf("%d bytes from %d", len(out), len(body))
		}
	})
}

// FuzzCodecStream decodes the lines of the input as one stream's events
// (each "name data", or data alone), re-encodes what comes out and checks
// each frame is JSON.
func FuzzCodecStream(f *testing.F) {
	for _, name := range []string{"thinking_tool", "overloaded"} {
		var b bytes.Buffer
		for _, ev := range codecReadSSE(f, codecRead(f, name+".stream.sse")) {
			b.WriteString(ev.name + " " + ev.data + "\n")
		}
		f.Add(b.Bytes())
	}
	codec := MessagesCodec()
	f.Fuzz(func(t *testing.T, in []byte) {
		d := codec.NewDecoder()
		enc := codec.NewEncoder(&canon.Request{Model: "m"})
		var out []canon.Event
		var fr canon.Frames
		for _, line := range bytes.Split(in, []byte("\n")) {
			name, data, ok := bytes.Cut(line, []byte(" "))
			if !ok {
				name, data = nil, line
			}
			var err error
			out, err = d.Decode(name, data, out[:0])
			if err != nil {
				continue
			}
			if len(out) > 4 {
				t.Fatalf("%d events from one", len(out))
			}
			for i := range out {
				fr.Reset()
				enc.Encode(&fr, &out[i])
				for j := 0; j < fr.Len(); j++ {
					fname, fdata := fr.At(j)
					if !gjson.ValidBytes(fdata) || gjson.GetBytes(fdata, "type").Str != string(fname) {
						t.Fatalf("frame %s %s", fname, fdata)
					}
				}
			}
		}
	})
}

func FuzzCodecDecodeError(f *testing.F) {
	f.Add(529, []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	f.Add(400, []byte(`{"error":{"type":"invalid_request_error"}}`))
	f.Add(502, []byte(`<html>`))
	codec := MessagesCodec()
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := codec.DecodeError(status, body)
		if e.Status != status || len(e.Message) > len(body)+100+len(strconv.Itoa(status)) || e.Type > canon.ErrTimeout {
			t.Fatalf("%+v from %d %q", e, status, body)
		}
	})
}
