package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestScanRequest(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		want      Request
		wantField string // non-empty: expect a FieldError for this field
		wantJSON  bool   // expect ErrInvalidJSON
	}{
		{name: "minimal", body: `{"model":"gpt-4o-mini","messages":[]}`, want: Request{Model: "gpt-4o-mini"}},
		{name: "stream with usage", body: `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`,
			want: Request{Model: "m", Stream: true, IncludeUsage: true}},
		{name: "max tokens variants", body: `{"model":"m","max_completion_tokens":77}`, want: Request{Model: "m", MaxTokens: 77}},
		{name: "max output tokens", body: `{"model":"m","max_output_tokens":5}`, want: Request{Model: "m", MaxTokens: 5}},
		{name: "openai user", body: `{"model":"m","user":"alice"}`, want: Request{Model: "m", User: "alice"}},
		{name: "anthropic user", body: `{"model":"m","metadata":{"user_id":"bob"},"max_tokens":10}`, want: Request{Model: "m", User: "bob", MaxTokens: 10}},
		{name: "escaped model", body: `{"model":"a\"b"}`, want: Request{Model: `a"b`}},
		{name: "nested model ignored", body: `{"x":{"model":"no"},"model":"yes"}`, want: Request{Model: "yes"}},
		{name: "stream null", body: `{"model":"m","stream":null}`, want: Request{Model: "m"}},
		{name: "missing model", body: `{"messages":[]}`, wantField: "model"},
		{name: "empty model", body: `{"model":""}`, wantField: "model"},
		{name: "model not string", body: `{"model":5}`, wantField: "model"},
		{name: "stream not bool", body: `{"model":"m","stream":"yes"}`, wantField: "stream"},
		{name: "max tokens not number", body: `{"model":"m","max_tokens":"5"}`, wantField: "max_tokens"},
		{name: "array body", body: `[1,2]`, wantField: "body"},
		{name: "bad json", body: `{"model":"m",}`, wantJSON: true},
		{name: "empty", body: ``, wantJSON: true},
		{name: "trailing garbage", body: `{"model":"m"} x`, wantJSON: true},
		// Issue #15: a key Sluice reads, sent twice, could be read one way
		// here and the other way upstream.
		{name: "duplicate model", body: `{"model":"gpt-4o-EXPENSIVE","model":"gpt-4o-mini","messages":[]}`, wantField: "model"},
		{name: "duplicate model escaped", body: `{"model":"a","mod\u0065l":"b"}`, wantField: "model"},
		{name: "duplicate stream", body: `{"model":"m","stream":false,"stream":true}`, wantField: "stream"},
		{name: "duplicate stream_options", body: `{"model":"m","stream_options":null,"stream_options":{}}`, wantField: "stream_options"},
		{name: "duplicate include_usage", body: `{"model":"m","stream":true,"stream_options":{"include_usage":true,"include_usage":false}}`,
			wantField: "stream_options.include_usage"},
		{name: "duplicate max_tokens", body: `{"model":"m","max_tokens":1,"max_tokens":100000}`, wantField: "max_tokens"},
		{name: "duplicate max_completion_tokens", body: `{"model":"m","max_completion_tokens":1,"max_completion_tokens":2}`, wantField: "max_completion_tokens"},
		{name: "duplicate max_output_tokens", body: `{"model":"m","max_output_tokens":1,"max_output_tokens":2}`, wantField: "max_output_tokens"},
		{name: "duplicate user", body: `{"model":"m","user":"a","user":"b"}`, wantField: "user"},
		{name: "duplicate metadata", body: `{"model":"m","metadata":{},"metadata":{"user_id":"b"}}`, wantField: "metadata"},
		{name: "duplicate user_id", body: `{"model":"m","metadata":{"user_id":"a","user_id":"b"}}`, wantField: "metadata.user_id"},
		{name: "duplicate messages", body: `{"model":"m","messages":[],"messages":[]}`, wantField: "messages"},
		{name: "duplicate input", body: `{"model":"m","input":"a","input":"b"}`, wantField: "input"},
		{name: "duplicate contents", body: `{"model":"m","contents":[],"contents":[]}`, wantField: "contents"},
		{name: "duplicate system", body: `{"model":"m","system":"a","system":"b"}`, wantField: "system"},
		{name: "duplicate tools", body: `{"model":"m","tools":[],"tools":[]}`, wantField: "tools"},
		{name: "duplicate functions", body: `{"model":"m","functions":[],"functions":[]}`, wantField: "functions"},
		{name: "duplicate prompt", body: `{"model":"m","prompt":"a","prompt":"b"}`, wantField: "prompt"},
		{name: "duplicate suffix", body: `{"model":"m","suffix":"a","suffix":"b"}`, wantField: "suffix"},
		{name: "duplicate instructions", body: `{"model":"m","instructions":"a","instructions":"b"}`, wantField: "instructions"},
		{name: "duplicate unread key passes", body: `{"model":"m","temperature":1,"temperature":0}`, want: Request{Model: "m"}},
		{name: "nested duplicates pass", body: `{"model":"m","messages":[{"model":"x","model":"y"}],"x":{"stream":1,"stream":2}}`, want: Request{Model: "m"}},
		{name: "different max-token fields, the largest counts", body: `{"model":"m","max_completion_tokens":900,"max_tokens":10}`,
			want: Request{Model: "m", MaxTokens: 900}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ScanRequest([]byte(tt.body))
			switch {
			case tt.wantJSON:
				if !errors.Is(err, ErrInvalidJSON) {
					t.Fatalf("err = %v, want ErrInvalidJSON", err)
				}
				return
			case tt.wantField != "":
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Fatalf("err = %v, want FieldError on %q", err, tt.wantField)
				}
				return
			case err != nil:
				t.Fatalf("unexpected error %v", err)
			}
			if got.Model != tt.want.Model || got.Stream != tt.want.Stream || got.IncludeUsage != tt.want.IncludeUsage ||
				got.MaxTokens != tt.want.MaxTokens || got.User != tt.want.User {
				t.Fatalf("got %s user=%q, want %s user=%q", got.String(), got.User, tt.want.String(), tt.want.User)
			}
		})
	}
}

func TestAppendBody(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		model  string
		inject bool
		want   string
	}{
		{name: "untouched", body: `{"model":"m", "x": [1, 2]}`, model: "m", want: `{"model":"m", "x": [1, 2]}`},
		{name: "model replaced", body: `{ "model" : "pub" ,"stream":false}`, model: "up-1", want: `{ "model" : "up-1" ,"stream":false}`},
		{name: "model needs escaping", body: `{"model":"pub"}`, model: "a\"b\n", want: `{"model":"a\"b\u000a"}`},
		{name: "no stream no injection", body: `{"model":"m"}`, model: "m", inject: true, want: `{"model":"m"}`},
		{name: "inject appended", body: `{"model":"m","stream":true}`, model: "m", inject: true,
			want: `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`},
		{name: "inject with trailing space", body: "{\"model\":\"m\",\"stream\":true }\n", model: "x", inject: true,
			want: "{\"model\":\"x\",\"stream\":true ,\"stream_options\":{\"include_usage\":true}}\n"},
		{name: "inject into existing options", body: `{"stream":true,"stream_options":{"foo":1},"model":"m"}`, model: "z", inject: true,
			want: `{"stream":true,"stream_options":{"include_usage":true,"foo":1},"model":"z"}`},
		{name: "inject into empty options", body: `{"model":"m","stream":true,"stream_options":{ }}`, model: "m", inject: true,
			want: `{"model":"m","stream":true,"stream_options":{"include_usage":true }}`},
		{name: "flip false", body: `{"model":"m","stream":true,"stream_options":{"include_usage":false}}`, model: "m", inject: true,
			want: `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`},
		{name: "null options", body: `{"model":"m","stream":true,"stream_options":null}`, model: "m", inject: true,
			want: `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`},
		{name: "client asked already", body: `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, model: "m", inject: true,
			want: `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`},
		{name: "injection disabled", body: `{"model":"m","stream":true}`, model: "m", inject: false, want: `{"model":"m","stream":true}`},
		{name: "bad options left alone", body: `{"model":"m","stream":true,"stream_options":"x"}`, model: "m", inject: true,
			want: `{"model":"m","stream":true,"stream_options":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ScanRequest([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got := string(r.AppendBody(nil, []byte(tt.body), tt.model, tt.inject))
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if r.Edits(tt.model, tt.inject) != (got != tt.body) {
				t.Fatalf("Edits() disagrees with AppendBody")
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("result is not valid JSON: %s", got)
			}
		})
	}
}

func FuzzScanRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","stream":true,"stream_options":{"x":1}}`), "up")
	f.Add([]byte(`{"model":"m","stream":true,"stream_options":null, "max_tokens": 5}`), "")
	f.Add([]byte(`{"model":"\u00e9","metadata":{"user_id":"u"}}`), "q\"")
	f.Add([]byte(`[]`), "m")
	f.Add([]byte(`{"model":"a","m\u006fdel":"b"}`), "m")
	f.Add([]byte(`{"model":"m","stream_options":{"include_usage":true,"include_usage":false},"stream":true}`), "m")
	f.Fuzz(func(t *testing.T, body []byte, model string) {
		r, err := ScanRequest(body)
		var fe *FieldError
		if errors.As(err, &fe) && strings.HasSuffix(fe.Msg, msgTwice) {
			if n := topLevelCount(t, body, fe.Field); n < 2 && !strings.Contains(fe.Field, ".") {
				t.Fatalf("%s refused as twice, seen %d times in %q", fe.Field, n, body)
			}
		}
		if err != nil {
			return
		}
		for _, k := range readKeys {
			if n := topLevelCount(t, body, k); n > 1 {
				t.Fatalf("%q appears %d times and was accepted: %q", k, n, body)
			}
		}
		for _, inject := range []bool{false, true} {
			out := r.AppendBody(nil, body, model, inject)
			if !json.Valid(out) {
				t.Fatalf("edit produced invalid JSON from %q: %q", body, out)
			}
			var m map[string]any
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("unmarshal edited: %v", err)
			}
			// Duplicate keys make "the" model ambiguous; only check the
			// unambiguous case.
			if strings.Count(string(body), `"model"`) == 1 && m["model"] != model && strings.ToValidUTF8(model, "\uFFFD") == model {
				t.Fatalf("model = %v, want %q (body %q)", m["model"], model, body)
			}
			if inject && r.Stream && !r.IncludeUsage && strings.Count(string(body), `"stream_options"`) <= 1 && strings.Count(string(body), `"include_usage"`) <= 1 {
				so, _ := m["stream_options"].(map[string]any)
				if so != nil && so["include_usage"] != true {
					t.Fatalf("include_usage not set: %q", out)
				}
			}
		}
	})
}

// readKeys are the top-level keys ScanRequest refuses twice.
var readKeys = []string{"model", "stream", "stream_options", "max_tokens", "max_completion_tokens",
	"max_output_tokens", "user", "metadata", "messages", "input", "contents", "system", "tools",
	"functions", "prompt", "suffix", "instructions"}

// topLevelCount counts the members of JSON object body named key (decoded),
// with encoding/json as the reference reader.
func topLevelCount(t *testing.T, body []byte, key string) int {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0
	}
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return n
		}
		if tok == key {
			n++
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return n
		}
	}
	return n
}

func TestReadKeysMatch(t *testing.T) {
	if len(readKeys) != int(numKeys)-1 {
		t.Errorf("%d keys listed, %d read", len(readKeys), numKeys-1)
	}
	for _, k := range readKeys {
		if id := readKey(k); id == noKey || id.String() != k {
			t.Errorf("readKey(%q) = %d (%q)", k, id, id)
		}
	}
	if readKey("temperature") != noKey {
		t.Error("temperature is read")
	}
}

var benchBody = []byte(`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello there, how are you? Please write a short poem about gateways and rivers."}],"temperature":0.7,"max_tokens":256,"stream":true,"user":"user-1234"}`)

func BenchmarkScanRequest(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	for b.Loop() {
		if _, err := ScanRequest(benchBody); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScanAndEdit(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	dst := make([]byte, 0, 1024)
	for b.Loop() {
		r, err := ScanRequest(benchBody)
		if err != nil {
			b.Fatal(err)
		}
		dst = r.AppendBody(dst[:0], benchBody, "gpt-4o-mini-2024-07-18", true)
	}
}
