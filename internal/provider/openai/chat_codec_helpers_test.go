package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/sse"
)

// The -update flag rewrites golden files. Another test file of the package
// may define it too: whichever comes first registers it, and both read it
// by name.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata")
	}
}

func chatUpdating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// chatGolden compares got with the golden file path (rewriting it under
// -update).
func chatGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if chatUpdating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
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
		t.Errorf("%s differs from the golden file (run with -update to accept):\n got: %s\nwant: %s", path, got, want)
	}
}

// chatIndent pretty-prints a JSON body for a golden file; it fails the
// test when the body is not JSON.
func chatIndent(t *testing.T, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// chatRawNumbers are the canonical fields that hold raw JSON numbers,
// which encoding/json writes as base64: the dump shows them as numbers.
var chatRawNumbers = []string{"Temperature", "TopP", "TopK", "FrequencyPenalty", "PresencePenalty", "Seed"}

// chatDump writes a canonical value as indented JSON with zero values left
// out and raw numbers shown as numbers.
func chatDump(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if obj, ok := m.(map[string]any); ok {
		for _, k := range chatRawNumbers {
			if s, ok := obj[k].(string); ok {
				raw, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					t.Fatal(err)
				}
				obj[k] = json.RawMessage(raw)
			}
		}
	}
	m = chatPrune(m)
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// chatPrune drops zero values (false, 0, "", null, empty arrays and
// objects) from a decoded JSON value.
func chatPrune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e = chatPrune(e); e == nil {
				delete(x, k)
			} else {
				x[k] = e
			}
		}
		if len(x) == 0 {
			return nil
		}
		return x
	case []any:
		if len(x) == 0 {
			return nil
		}
		for i := range x { // elements stay, zeros included
			if e := chatPrune(x[i]); e != nil {
				x[i] = e
			}
		}
		return x
	case bool:
		if !x {
			return nil
		}
	case float64:
		if x == 0 {
			return nil
		}
	case string:
		if x == "" {
			return nil
		}
	}
	return v
}

// chatLoadCanon reads a canonical request written as chatDump writes one.
func chatLoadCanon(t *testing.T, path string) *canon.Request {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatal(err)
	}
	for _, k := range chatRawNumbers {
		if raw, ok := obj[k]; ok {
			enc, _ := json.Marshal(base64.StdEncoding.EncodeToString(raw))
			obj[k] = enc
		}
	}
	b, _ = json.Marshal(obj)
	var r canon.Request
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// chatFiles lists the files of dir ending in ext, sorted.
func chatFiles(t *testing.T, dir, ext string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if strings.Count(filepath.Base(n), ".") == 1 { // inputs only, not golden outputs
			out = append(out, n)
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatalf("no %s files in %s", ext, dir)
	}
	return out
}

// chatSSE splits an SSE stream into its events.
func chatSSE(t testing.TB, stream []byte) []sse.Event {
	t.Helper()
	r := sse.NewReader(bytes.NewReader(stream), 0)
	var out []sse.Event
	for {
		ev, err := r.Next()
		if err != nil {
			break
		}
		out = append(out, sse.Event{Name: bytes.Clone(ev.Name), Data: bytes.Clone(ev.Data)})
	}
	return out
}

// chatEv is a canonical event as a golden file shows it.
type chatEv struct {
	Kind      string
	ID, Model string
	Index     int
	Part      *canon.Part  `json:",omitempty"`
	Text      string       `json:",omitempty"`
	Signature string       `json:",omitempty"`
	Stop      *canon.Stop  `json:",omitempty"`
	Usage     *canon.Usage `json:",omitempty"`
	Err       *canon.Error `json:",omitempty"`
}

var chatKinds = map[canon.EventKind]string{
	canon.EvStart: "start", canon.EvPartStart: "part_start", canon.EvDelta: "delta", canon.EvPartStop: "part_stop",
	canon.EvStop: "stop", canon.EvUsage: "usage", canon.EvEnd: "end", canon.EvError: "error",
}

// chatCopyEvent copies ev (whose strings are views a decoder may reuse).
func chatCopyEvent(ev canon.Event) chatEv {
	c := chatEv{Kind: chatKinds[ev.Kind], ID: strings.Clone(ev.ID), Model: strings.Clone(ev.Model), Index: ev.Index,
		Text: strings.Clone(ev.Text), Signature: strings.Clone(ev.Signature)}
	switch ev.Kind {
	case canon.EvPartStart:
		p := ev.Part
		p.Text, p.ID, p.Name = strings.Clone(p.Text), strings.Clone(p.ID), strings.Clone(p.Name)
		c.Part = &p
	case canon.EvStop:
		s := ev.Stop
		s.Raw, s.Sequence = strings.Clone(s.Raw), strings.Clone(s.Sequence)
		c.Stop = &s
	case canon.EvUsage:
		u := ev.Usage
		c.Usage = &u
	case canon.EvError:
		e := ev.Err
		c.Err = &e
	}
	return c
}

// chatToEvent turns a copied event back into an event.
func (c chatEv) event() canon.Event {
	ev := canon.Event{ID: c.ID, Model: c.Model, Index: c.Index, Text: c.Text, Signature: c.Signature}
	for k, n := range chatKinds {
		if n == c.Kind {
			ev.Kind = k
		}
	}
	if c.Part != nil {
		ev.Part = *c.Part
	}
	if c.Stop != nil {
		ev.Stop = *c.Stop
	}
	if c.Usage != nil {
		ev.Usage = *c.Usage
	}
	if c.Err != nil {
		ev.Err = *c.Err
	}
	return ev
}

// chatDecodeStream runs an upstream stream through a fresh decoder, each
// event's data in one reused buffer (events are views valid until the next
// call), and returns the events copied.
func chatDecodeStream(t testing.TB, stream []byte) ([]chatEv, error) {
	t.Helper()
	d := ChatCodec().NewDecoder()
	var buf []byte
	var out []chatEv
	var evs []canon.Event
	for _, e := range chatSSE(t, stream) {
		buf = append(buf[:0], e.Data...)
		var err error
		evs, err = d.Decode(e.Name, buf, evs[:0])
		for _, ev := range evs {
			out = append(out, chatCopyEvent(ev))
		}
		for i := range buf {
			buf[i] = 'X' // a decoder that kept a view would now see garbage
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
