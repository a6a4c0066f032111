package openai

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// chatSeeds adds the files of dir ending in ext to f's corpus.
func chatSeeds(f *testing.F, dir, ext string) {
	names, _ := filepath.Glob(filepath.Join(dir, "*"+ext))
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			f.Add(b)
		}
	}
}

// FuzzChatDecodeRequest: no panic; a request that decodes encodes (or is
// refused with a FieldError) into a body of bounded size that decodes
// again.
func FuzzChatDecodeRequest(f *testing.F) {
	chatSeeds(f, filepath.Join(chatTestdata, "requests"), ".json")
	f.Add([]byte(`{"messages":[{"role":"tool","tool_call_id":"x","content":[{"type":"image_url","image_url":"data:image/png;base64,AA=="}]}]}`))
	f.Add([]byte(`{"messages":[{"role":"system"}]}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var r canon.Request
		if err := ChatCodec().DecodeRequest(body, &r); err != nil {
			return
		}
		out, err := ChatCodec().EncodeRequest(nil, &r)
		if err != nil {
			if _, ok := err.(*canon.FieldError); !ok {
				t.Fatalf("EncodeRequest: %v", err)
			}
			return
		}
		if len(out) > 3*len(body)+4096 {
			t.Fatalf("a %d-byte request encodes to %d bytes", len(body), len(out))
		}
		var back canon.Request
		if err := ChatCodec().DecodeRequest(out, &back); err != nil {
			t.Fatalf("the encoded body does not decode: %v\n%s\nfrom %s", err, out, body)
		}
	})
}

// FuzzChatDecodeReply: no panic; a reply that decodes encodes into a body
// of bounded size that decodes again.
func FuzzChatDecodeReply(f *testing.F) {
	chatSeeds(f, filepath.Join(chatTestdata, "replies"), ".json")
	f.Fuzz(func(t *testing.T, body []byte) {
		var r canon.Reply
		if err := ChatCodec().DecodeReply(body, &r); err != nil {
			return
		}
		out := ChatCodec().EncodeReply(nil, &r, &canon.Request{Model: "m"})
		if len(out) > 3*len(body)+1024 {
			t.Fatalf("a %d-byte reply encodes to %d bytes", len(body), len(out))
		}
		var back canon.Reply
		if err := ChatCodec().DecodeReply(out, &back); err != nil {
			t.Fatalf("the encoded reply does not decode: %v\n%s", err, out)
		}
	})
}

// FuzzChatStream: events separated by blank lines; no panic, the
// decoder's events follow canon's grammar and are bounded by the input,
// and the encoder takes them.
func FuzzChatStream(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join(chatTestdata, "streams", "*.sse"))
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			var data [][]byte
			for _, e := range chatSSE(f, b) {
				data = append(data, e.Data)
			}
			f.Add(bytes.Join(data, []byte("\n\n")))
		}
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		d := ChatCodec().NewDecoder()
		enc := ChatCodec().NewEncoder(&canon.Request{IncludeUsage: true})
		var all []chatEv
		var evs []canon.Event
		var fr canon.Frames
		for _, data := range bytes.Split(stream, []byte("\n\n")) {
			var err error
			evs, err = d.Decode(nil, data, evs[:0])
			if len(evs) > 8+len(data) {
				t.Fatalf("%d events from %d bytes", len(evs), len(data))
			}
			for i := range evs {
				all = append(all, chatCopyEvent(evs[i]))
				fr.Reset()
				enc.Encode(&fr, &evs[i])
			}
			if err != nil {
				break
			}
		}
		chatCheckGrammar(t, all)
	})
}

// FuzzChatDecodeError: no panic; a message always, the status kept when
// it is an error's.
func FuzzChatDecodeError(f *testing.F) {
	f.Add(400, []byte(`{"error":{"message":"bad","type":"invalid_request_error","param":"x","code":null}}`))
	f.Add(200, []byte(`{"error":{"message":"slow","type":"tokens"}}`))
	f.Add(500, []byte(`[{"error":"x"}]`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := ChatCodec().DecodeError(status, body)
		if e.Message == "" {
			t.Fatal("no message")
		}
		if status >= 400 && e.Status != status {
			t.Fatalf("status %d became %d", status, e.Status)
		}
		if len(e.Message)+len(e.Param)+len(e.Code) > len(body)+128 {
			t.Fatalf("%d bytes of error from a %d-byte body", len(e.Message)+len(e.Param)+len(e.Code), len(body))
		}
	})
}

// FuzzEmbedDecodeRequest: no panic; what decodes encodes and decodes
// again to the same inputs.
func FuzzEmbedDecodeRequest(f *testing.F) {
	chatSeeds(f, embedTestdata, ".json")
	f.Fuzz(func(t *testing.T, body []byte) {
		var r canon.EmbedRequest
		if err := EmbedCodec().DecodeRequest(body, &r); err != nil {
			return
		}
		out, err := EmbedCodec().EncodeRequest(nil, &r)
		if err != nil {
			t.Fatalf("EncodeRequest: %v", err)
		}
		var back canon.EmbedRequest
		if err := EmbedCodec().DecodeRequest(out, &back); err != nil || len(back.Inputs) != len(r.Inputs) {
			t.Fatalf("the encoded body does not decode: %v\n%s", err, out)
		}
	})
}

// FuzzEmbedDecodeReply: no panic; no more vectors than items, no more
// values than the body has bytes.
func FuzzEmbedDecodeReply(f *testing.F) {
	chatSeeds(f, embedTestdata, ".json")
	f.Fuzz(func(t *testing.T, body []byte) {
		var r canon.EmbedReply
		if err := EmbedCodec().DecodeReply(body, &r); err != nil {
			return
		}
		n := 0
		for _, v := range r.Vectors {
			n += len(v)
		}
		if len(r.Vectors) > len(body) || n > len(body) {
			t.Fatalf("%d vectors, %d values from %d bytes", len(r.Vectors), n, len(body))
		}
		EmbedCodec().EncodeReply(nil, &r, &canon.EmbedRequest{Base64: len(body)%2 == 0})
	})
}
