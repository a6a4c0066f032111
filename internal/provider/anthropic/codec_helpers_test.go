package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/sse"
)

var codecUpdate = flag.Bool("update", false, "rewrite the codec's golden files under testdata/codec")

// codecDir is where the codec's test inputs and golden files are.
const codecDir = "testdata/codec"

// codecRead returns a file under testdata/codec.
func codecRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(codecDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// codecGolden compares got with the golden file name, or rewrites it
// with -update.
func codecGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(codecDir, name)
	if *codecUpdate {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n got: %s\nwant: %s", name, got, want)
	}
}

// codecDumpRequest is a canon.Request as JSON, its raw numbers as text.
type codecDumpRequest struct {
	*canon.Request
	Temperature, TopP, TopK, FrequencyPenalty, PresencePenalty, Seed string `json:",omitempty"`
}

// codecJSON indents v as JSON, a newline after it.
func codecJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		t.Fatal(err)
	}
	tree, _ = codecPrune(tree)
	if b, err = json.MarshalIndent(tree, "", "  "); err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func codecDumpReq(t testing.TB, r *canon.Request) []byte {
	return codecJSON(t, codecDumpRequest{Request: r, Temperature: string(r.Temperature), TopP: string(r.TopP),
		TopK: string(r.TopK), FrequencyPenalty: string(r.FrequencyPenalty), PresencePenalty: string(r.PresencePenalty), Seed: string(r.Seed)})
}

// codecPrune removes the zero values (false, 0, "", null, and objects
// left empty) from a decoded JSON value, so that dumps show what is set.
func codecPrune(v any) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if p, keep := codecPrune(e); keep {
				x[k] = p
			} else {
				delete(x, k)
			}
		}
		return x, len(x) > 0
	case []any:
		for i, e := range x {
			x[i], _ = codecPrune(e)
		}
		return x, true
	case nil:
		return nil, false
	case bool:
		return x, x
	case float64:
		return x, x != 0
	case string:
		return x, x != ""
	}
	return v, true
}

// codecIndent indents a JSON body, failing the test if it is not JSON.
func codecIndent(t testing.TB, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	return append(b.Bytes(), '\n')
}

// codecSSE is one SSE event, copied.
type codecSSE struct{ name, data string }

// codecReadSSE reads every event of an SSE stream.
func codecReadSSE(t testing.TB, stream []byte) []codecSSE {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(stream), 0)
	var out []codecSSE
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, codecSSE{string(ev.Name), string(ev.Data)})
	}
}

// codecDecodeStream runs a stream decoder over events, returning the
// canonical events with their strings copied.
func codecDecodeStream(t testing.TB, events []codecSSE) []canon.Event {
	t.Helper()
	d := MessagesCodec().NewDecoder()
	var all, out []canon.Event
	for _, ev := range events {
		var err error
		out, err = d.Decode([]byte(ev.name), []byte(ev.data), out[:0])
		if err != nil {
			t.Fatalf("event %s: %v", ev.data, err)
		}
		for _, e := range out {
			all = append(all, codecCopyEvent(e))
		}
	}
	return all
}

// codecCopyEvent copies an event's strings (they view the decoder's input).
func codecCopyEvent(e canon.Event) canon.Event {
	c := strings.Clone
	e.ID, e.Model, e.Text, e.Signature = c(e.ID), c(e.Model), c(e.Text), c(e.Signature)
	e.Part.Text, e.Part.ID, e.Part.Name, e.Part.Signature, e.Part.Redacted = c(e.Part.Text), c(e.Part.ID), c(e.Part.Name), c(e.Part.Signature), c(e.Part.Redacted)
	e.Stop.Sequence, e.Stop.Raw = c(e.Stop.Sequence), c(e.Stop.Raw)
	e.Err.Message, e.Err.Code = c(e.Err.Message), c(e.Err.Code)
	return e
}

// codecEncodeStream runs a stream encoder over events and returns the SSE
// stream it writes.
func codecEncodeStream(req *canon.Request, events []canon.Event) []byte {
	enc := MessagesCodec().NewEncoder(req)
	var f canon.Frames
	var out []byte
	for i := range events {
		f.Reset()
		enc.Encode(&f, &events[i])
		out = f.AppendSSE(out)
	}
	return out
}
