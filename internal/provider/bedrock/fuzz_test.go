package bedrock

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

func addFiles(f *testing.F, glob string) {
	files, _ := filepath.Glob(glob)
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzDecodeReply: any body decodes or fails cleanly, and what decodes
// holds no more parts than the body has bytes.
func FuzzDecodeReply(f *testing.F) {
	addFiles(f, "testdata/replies/*.json")
	f.Add([]byte(`{"output":{"message":{"content":[{"toolUse":{"input":7}},{"reasoningContent":{}}]}},"usage":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var r canon.Reply
		if err := DecodeReply(body, &r); err != nil {
			return
		}
		if len(r.Parts) > len(body) {
			t.Fatalf("%d parts from %d bytes", len(r.Parts), len(body))
		}
		for _, p := range r.Parts {
			if p.Kind == canon.PartToolCall && !json.Valid([]byte(p.Args)) {
				t.Fatalf("arguments %q", p.Args)
			}
		}
	})
}

// FuzzDecoder feeds a stream's events, split from the input, to one
// decoder: no panic, canon's grammar holds, at most a few events per
// upstream event.
func FuzzDecoder(f *testing.F) {
	files, _ := filepath.Glob("testdata/streams/*.txt")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		dec := NewDecoder()
		var events []canon.Event
		for line := range bytes.Lines(in) {
			_, rest, _ := bytes.Cut(bytes.TrimSuffix(line, []byte("\n")), []byte(" "))
			name, data, _ := bytes.Cut(rest, []byte(" "))
			out, err := dec.Decode(name, data, nil)
			if len(out) > 4 {
				t.Fatalf("%d events from one", len(out))
			}
			for _, ev := range out {
				events = append(events, owned(ev))
			}
			if err != nil {
				break
			}
		}
		if err := checkGrammar(events); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzDecodeError: any status and body give an error with a message.
func FuzzDecodeError(f *testing.F) {
	f.Add(400, []byte(`{"message":"1 validation error detected: Value at 'messages' failed"}`))
	f.Add(429, []byte(`{"Message":"slow down","__type":"a#ThrottlingException"}`))
	f.Add(502, []byte(`<html>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := DecodeError(status, body)
		if e.Message == "" || e.Status != status || len(e.Message) > len(body)+100 || len(e.Param) > 200 {
			t.Fatalf("%+v", e)
		}
	})
}

// FuzzEncodeRequest reads any Converse body with the test decoder and
// encodes it again: EncodeRequest either refuses with a FieldError or
// writes valid JSON, which reads back to a request that encodes the same.
func FuzzEncodeRequest(f *testing.F) {
	addFiles(f, "testdata/encode_request/*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		var r canon.Request
		if err := decodeRequest(body, claude, &r); err != nil {
			return
		}
		out, err := EncodeRequest(nil, &r)
		if err != nil {
			var fe *canon.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("not a FieldError: %v", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON from %s:\n%s", body, out)
		}
		var back canon.Request
		if err := decodeRequest(out, claude, &back); err != nil {
			t.Fatal(err)
		}
		again, err := EncodeRequest(nil, &back)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not a fixed point (%v):\n%s\n%s", err, out, again)
		}
	})
}
