package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// parseCases are whole inputs and the events they must give before io.EOF.
var parseCases = []struct {
	name string
	in   string
	want []ev
}{
	{"empty input", "", nil},
	{"lf", "data: a\n\n", []ev{{Raw: "data: a\n\n", Name: none, Data: "a", ID: none}}},
	{"crlf", "data: a\r\n\r\n", []ev{{Raw: "data: a\r\n\r\n", Name: none, Data: "a", ID: none}}},
	{"cr", "data: a\r\r", []ev{{Raw: "data: a\r\r", Name: none, Data: "a", ID: none}}},
	{"mixed endings", "event: x\rdata: a\r\ndata: b\n\r\n",
		[]ev{{Raw: "event: x\rdata: a\r\ndata: b\n\r\n", Name: "x", Data: "a\nb", ID: none}}},
	{"cr then crlf blank line", "data: a\r\r\n", []ev{{Raw: "data: a\r\r\n", Name: none, Data: "a", ID: none}}},
	{"lf then cr blank lines", "data: a\n\r\r", []ev{
		{Raw: "data: a\n\r", Name: none, Data: "a", ID: none},
		{Raw: "\r", Name: none, Data: none, ID: none},
	}},
	{"two events", "data: a\n\ndata: b\n\n", []ev{
		{Raw: "data: a\n\n", Name: none, Data: "a", ID: none},
		{Raw: "data: b\n\n", Name: none, Data: "b", ID: none},
	}},
	{"multi-line data", "data: a\ndata: b\ndata:\n\n", []ev{{Raw: "data: a\ndata: b\ndata:\n\n", Name: none, Data: "a\nb\n", ID: none}}},
	{"three data lines crlf", "data:1\r\ndata:2\r\ndata:3\r\n\r\n", []ev{{Raw: "data:1\r\ndata:2\r\ndata:3\r\n\r\n", Name: none, Data: "1\n2\n3", ID: none}}},
	{"no space after colon", "data:a\n\n", []ev{{Raw: "data:a\n\n", Name: none, Data: "a", ID: none}}},
	{"only one space removed", "data:  a\n\n", []ev{{Raw: "data:  a\n\n", Name: none, Data: " a", ID: none}}},
	{"tab kept", "data:\ta\n\n", []ev{{Raw: "data:\ta\n\n", Name: none, Data: "\ta", ID: none}}},
	{"colons in value", `data: {"a":"b:c"}` + "\n\n", []ev{{Raw: `data: {"a":"b:c"}` + "\n\n", Name: none, Data: `{"a":"b:c"}`, ID: none}}},
	{"nul in data kept", "data: a\x00b\n\n", []ev{{Raw: "data: a\x00b\n\n", Name: none, Data: "a\x00b", ID: none}}},
	{"field without colon", "data\n\n", []ev{{Raw: "data\n\n", Name: none, Data: "", ID: none}}},
	{"event without colon", "event\ndata: x\n\n", []ev{{Raw: "event\ndata: x\n\n", Name: "", Data: "x", ID: none}}},
	{"empty data values", "data:\ndata: \n\n", []ev{{Raw: "data:\ndata: \n\n", Name: none, Data: "\n", ID: none}}},
	{"comment only", ": ping\n\n", []ev{{Raw: ": ping\n\n", Name: none, Data: none, ID: none}}},
	{"bare colon comment", ":\n\n", []ev{{Raw: ":\n\n", Name: none, Data: none, ID: none}}},
	{"comments inside an event", ": c\nevent: e\n:data: no\ndata: x\n\n", []ev{{Raw: ": c\nevent: e\n:data: no\ndata: x\n\n", Name: "e", Data: "x", ID: none}}},
	{"unknown fields ignored", "retry: 100\nfoo: bar\nDATA: up\ndata : sp\ndata: x\n\n",
		[]ev{{Raw: "retry: 100\nfoo: bar\nDATA: up\ndata : sp\ndata: x\n\n", Name: none, Data: "x", ID: none}}},
	{"event without data", "event: e\n\n", []ev{{Raw: "event: e\n\n", Name: "e", Data: none, ID: none}}},
	{"last event name wins", "event: a\nevent:  b\ndata: x\n\n", []ev{{Raw: "event: a\nevent:  b\ndata: x\n\n", Name: " b", Data: "x", ID: none}}},
	{"id", "id: 7\ndata: x\n\n", []ev{{Raw: "id: 7\ndata: x\n\n", Name: none, Data: "x", ID: "7"}}},
	{"id with nul ignored", "id: 1\nid: a\x00b\ndata: x\n\n", []ev{{Raw: "id: 1\nid: a\x00b\ndata: x\n\n", Name: none, Data: "x", ID: "1"}}},
	{"empty id", "id\n\n", []ev{{Raw: "id\n\n", Name: none, Data: none, ID: ""}}},
	{"id does not carry over", "id: 1\ndata: a\n\ndata: b\n\n", []ev{
		{Raw: "id: 1\ndata: a\n\n", Name: none, Data: "a", ID: "1"},
		{Raw: "data: b\n\n", Name: none, Data: "b", ID: none},
	}},
	{"stray blank lines", "\ndata: a\n\n\r\n\rdata: b\n\n", []ev{
		{Raw: "\n", Name: none, Data: none, ID: none},
		{Raw: "data: a\n\n", Name: none, Data: "a", ID: none},
		{Raw: "\r\n", Name: none, Data: none, ID: none},
		{Raw: "\r", Name: none, Data: none, ID: none},
		{Raw: "data: b\n\n", Name: none, Data: "b", ID: none},
	}},
	{"missing final blank line", "data: a\n\ndata: b\n", []ev{
		{Raw: "data: a\n\n", Name: none, Data: "a", ID: none},
		{Raw: "data: b\n", Name: none, Data: "b", ID: none, Incomplete: true},
	}},
	{"unterminated last line", "event: e\ndata: {\"a\":", []ev{{Raw: "event: e\ndata: {\"a\":", Name: "e", Data: `{"a":`, ID: none, Incomplete: true}}},
	{"cut after cr", "data: a\r", []ev{{Raw: "data: a\r", Name: none, Data: "a", ID: none, Incomplete: true}}},
	{"unterminated comment", ": ping", []ev{{Raw: ": ping", Name: none, Data: none, ID: none, Incomplete: true}}},
	{"final blank line ended by cr", "data: a\n\r", []ev{{Raw: "data: a\n\r", Name: none, Data: "a", ID: none}}},
	{"bom skipped", "\xEF\xBB\xBFdata: a\n\n", []ev{{Raw: "\xEF\xBB\xBFdata: a\n\n", Name: none, Data: "a", ID: none}}},
	{"bom only at stream start", "\xEF\xBB\xBFdata: a\n\n\xEF\xBB\xBFdata: b\n\n", []ev{
		{Raw: "\xEF\xBB\xBFdata: a\n\n", Name: none, Data: "a", ID: none},
		{Raw: "\xEF\xBB\xBFdata: b\n\n", Name: none, Data: none, ID: none},
	}},
	{"bom alone", "\xEF\xBB\xBF", []ev{{Raw: "\xEF\xBB\xBF", Name: none, Data: none, ID: none, Incomplete: true}}},
	{"bom then blank line", "\xEF\xBB\xBF\n", []ev{{Raw: "\xEF\xBB\xBF\n", Name: none, Data: none, ID: none}}},
	{"partial bom is field text", "\xEF\xBBdata: a\n\n", []ev{{Raw: "\xEF\xBBdata: a\n\n", Name: none, Data: none, ID: none}}},
	{"openai", "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n", []ev{
		{Raw: "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n", Name: none, Data: `{"choices":[{"delta":{"content":"Hi"}}]}`, ID: none},
		{Raw: "data: [DONE]\n\n", Name: none, Data: "[DONE]", ID: none},
	}},
	{"anthropic", "event: ping\ndata: {\"type\": \"ping\"}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", []ev{
		{Raw: "event: ping\ndata: {\"type\": \"ping\"}\n\n", Name: "ping", Data: `{"type": "ping"}`, ID: none},
		{Raw: "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", Name: "message_stop", Data: `{"type":"message_stop"}`, ID: none},
	}},
	{"openai responses", "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":4,\"delta\":\"Hi\"}\n\n",
		[]ev{{Raw: "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":4,\"delta\":\"Hi\"}\n\n",
			Name: "response.output_text.delta", Data: `{"type":"response.output_text.delta","sequence_number":4,"delta":"Hi"}`, ID: none}}},
}

func TestReaderParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(NewReader(strings.NewReader(tc.in), 0))
			if err != io.EOF {
				t.Fatalf("error = %v, want io.EOF", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("events\n got %v\nwant %v", got, tc.want)
			}
			// The test's reference parser must agree, so that fuzzing against it
			// checks the same rules.
			if ref := refParse([]byte(tc.in)); !reflect.DeepEqual(ref, tc.want) {
				t.Errorf("reference parser\n got %v\nwant %v", ref, tc.want)
			}
		})
	}
}

// TestReaderChunking feeds every input split in every way that matters: at each single
// byte boundary, one byte per read, and in random parts. The events must not change.
func TestReaderChunking(t *testing.T) {
	inputs := map[string][]byte{
		"openai":    openAIStream(40),
		"anthropic": anthropicStream(40),
		"crlf":      bytes.ReplaceAll(anthropicStream(10), []byte("\n"), []byte("\r\n")),
		"cr":        bytes.ReplaceAll(openAIStream(10), []byte("\n"), []byte("\r")),
		// An event larger than the first buffer, so growth happens mid-event.
		"large event": append(append([]byte("data: "), bytes.Repeat([]byte("x"), 10000)...), "\r\n\r\ndata: y\r\n\r\n"...),
	}
	for _, tc := range parseCases {
		inputs["case "+tc.name] = []byte(tc.in)
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			want := refParse(in)
			check := func(how string, cuts []int) {
				t.Helper()
				got, err := readAll(NewReader(&cutReader{data: in, cuts: cuts}, 0))
				if err != io.EOF {
					t.Fatalf("%s: error = %v, want io.EOF", how, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: events differ\n got %v\nwant %v", how, got, want)
				}
			}
			check("whole", nil)
			check("one byte per read", everyByte(len(in)))
			for seed := range uint64(20) {
				check(fmt.Sprintf("random parts, seed %d", seed), randomCuts(len(in), 64, seed))
			}
			if len(in) <= 4096 {
				for k := 1; k < len(in); k++ {
					check(fmt.Sprintf("split at %d", k), []int{k})
				}
			}
		})
	}
}

func TestEventIsDone(t *testing.T) {
	for _, tc := range []struct {
		data string
		want bool
	}{{"[DONE]", true}, {"[DONE] ", false}, {"", false}, {"{}", false}} {
		t.Run(tc.data, func(t *testing.T) {
			e := Event{Data: []byte(tc.data)}
			if got := e.IsDone(); got != tc.want {
				t.Errorf("IsDone() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReaderEventTooLarge(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		want    []ev // events returned before the error
		wantErr error
	}{
		{"at the limit", "data: 01234567\n\n", 16, []ev{{Raw: "data: 01234567\n\n", Name: none, Data: "01234567", ID: none}}, io.EOF},
		{"one over", "data: 012345678\n\n", 16, nil, ErrEventTooLarge},
		{"crlf at the limit", "data: x\r\n\r\n", 11, []ev{{Raw: "data: x\r\n\r\n", Name: none, Data: "x", ID: none}}, io.EOF},
		{"crlf one over", "data: x\r\n\r\n", 10, nil, ErrEventTooLarge},
		{"cr events at the limit", "data: x\r\rdata: y\r\r", 9, []ev{
			{Raw: "data: x\r\r", Name: none, Data: "x", ID: none},
			{Raw: "data: y\r\r", Name: none, Data: "y", ID: none},
		}, io.EOF},
		{"events before the large one are returned", "data: a\n\ndata: 0123456789abcdef\n\ndata: b\n\n", 16,
			[]ev{{Raw: "data: a\n\n", Name: none, Data: "a", ID: none}}, ErrEventTooLarge},
		{"unfinished event over the limit", "data: a\n\ndata: 0123456789abcdef", 16,
			[]ev{{Raw: "data: a\n\n", Name: none, Data: "a", ID: none}}, ErrEventTooLarge},
		{"unfinished event at the limit", "data: 0123456789", 16,
			[]ev{{Raw: "data: 0123456789", Name: none, Data: "0123456789", ID: none, Incomplete: true}}, io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			for _, cuts := range [][]int{nil, everyByte(len(in)), randomCuts(len(in), 5, 1)} {
				r := NewReader(&cutReader{data: in, cuts: cuts}, tc.max)
				got, err := readAll(r)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("cuts %v: error = %v, want %v", cuts, err, tc.wantErr)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("cuts %v: events\n got %v\nwant %v", cuts, got, tc.want)
				}
				if _, err2 := r.Next(); err2 != err {
					t.Errorf("error not sticky: first %v, then %v", err, err2)
				}
				if cap(r.buf) > tc.max+1 {
					t.Errorf("buffer grew to %d bytes, limit %d", cap(r.buf), tc.max)
				}
			}
		})
	}
}

func TestReaderDefaultLimit(t *testing.T) {
	big := append([]byte("data: "), bytes.Repeat([]byte("x"), DefaultMaxEventSize)...)
	r := NewReader(bytes.NewReader(append(big, "\n\n"...)), 0)
	_, err := r.Next()
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("error = %v, want ErrEventTooLarge", err)
	}
	if !strings.Contains(err.Error(), "1048576") {
		t.Errorf("error %q does not name the limit", err)
	}
	if cap(r.buf) > DefaultMaxEventSize+1 {
		t.Errorf("buffer grew to %d bytes", cap(r.buf))
	}

	// Just under the limit passes, with data in one piece.
	data := bytes.Repeat([]byte("y"), DefaultMaxEventSize-len("data: \n\n"))
	r.Reset(bytes.NewReader(AppendData(nil, data)))
	e, err := r.Next()
	if err != nil || !bytes.Equal(e.Data, data) {
		t.Fatalf("Next() = %d data bytes, %v; want %d, nil", len(e.Data), err, len(data))
	}
}

var errBoom = errors.New("boom")

// errAfterReader returns its data, with err alongside the last bytes when together is
// set, else on the following call.
type errAfterReader struct {
	data     []byte
	err      error
	together bool
}

func (e *errAfterReader) Read(p []byte) (int, error) {
	n := copy(p, e.data)
	e.data = e.data[n:]
	if len(e.data) == 0 && (e.together || n == 0) {
		return n, e.err
	}
	return n, nil
}

type funcReader func(p []byte) (int, error)

func (f funcReader) Read(p []byte) (int, error) { return f(p) }

func TestReaderSourceErrors(t *testing.T) {
	reset := fmt.Errorf("read tcp 127.0.0.1:1->127.0.0.1:2: %w", syscall.ECONNRESET)
	tests := []struct {
		name    string
		src     io.Reader
		want    []ev
		wantErr error
	}{
		{"error after complete events", &errAfterReader{data: []byte("data: a\n\n"), err: errBoom},
			[]ev{{Raw: "data: a\n\n", Name: none, Data: "a", ID: none}}, errBoom},
		{"error with the last bytes", &errAfterReader{data: []byte("data: a\n\n"), err: errBoom, together: true},
			[]ev{{Raw: "data: a\n\n", Name: none, Data: "a", ID: none}}, errBoom},
		{"error mid-event returns the unfinished event first", &errAfterReader{data: []byte("data: a\n\nevent: e\ndata: b"), err: reset},
			[]ev{
				{Raw: "data: a\n\n", Name: none, Data: "a", ID: none},
				{Raw: "event: e\ndata: b", Name: "e", Data: "b", ID: none, Incomplete: true},
			}, syscall.ECONNRESET},
		{"unexpected eof passes through", &errAfterReader{data: []byte("data: a\n"), err: io.ErrUnexpectedEOF},
			[]ev{{Raw: "data: a\n", Name: none, Data: "a", ID: none, Incomplete: true}}, io.ErrUnexpectedEOF},
		{"no progress", funcReader(func([]byte) (int, error) { return 0, nil }), nil, io.ErrNoProgress},
		{"invalid count", funcReader(func(p []byte) (int, error) { return len(p) + 1, nil }), nil, errInvalidRead},
		{"negative count", funcReader(func([]byte) (int, error) { return -1, nil }), nil, errInvalidRead},
		{"nil source", nil, nil, io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.src, 0)
			got, err := readAll(r)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("events\n got %v\nwant %v", got, tc.want)
			}
			for range 2 {
				if _, err2 := r.Next(); err2 != err {
					t.Fatalf("error not sticky: first %v, then %v", err, err2)
				}
			}
		})
	}
}

func TestReaderReset(t *testing.T) {
	var r Reader // the zero Reader works after Reset
	r.Reset(&errAfterReader{data: []byte("data: a\n\ndata: cut"), err: errBoom})
	if e, err := r.Next(); err != nil || string(e.Data) != "a" {
		t.Fatalf("first stream: Next() = %q, %v", e.Data, err)
	}
	// Reset mid-stream, with an unfinished event and a pending error.
	r.Reset(strings.NewReader("\xEF\xBB\xBFevent: e\ndata: b\ndata: c\n\n"))
	got, err := readAll(&r)
	want := []ev{{Raw: "\xEF\xBB\xBFevent: e\ndata: b\ndata: c\n\n", Name: "e", Data: "b\nc", ID: none}}
	if err != io.EOF || !reflect.DeepEqual(got, want) {
		t.Fatalf("after Reset: %v, %v; want %v, io.EOF", got, err, want)
	}
	if r.max != DefaultMaxEventSize {
		t.Errorf("zero Reader limit = %d, want %d", r.max, DefaultMaxEventSize)
	}
	// Reset keeps the size limit.
	small := NewReader(nil, 8)
	small.Reset(strings.NewReader("data: 0123456789\n\n"))
	if _, err := small.Next(); !errors.Is(err, ErrEventTooLarge) {
		t.Errorf("after Reset, limit lost: error = %v", err)
	}
}

// TestEventSlicesHaveNoSpareCapacity checks that appending to an event's slices cannot
// overwrite the Reader's buffer (and so the next event).
func TestEventSlicesHaveNoSpareCapacity(t *testing.T) {
	r := NewReader(strings.NewReader("event: e\nid: 1\ndata: a\n\ndata: b\ndata: c\n\ndata: d\n\n"), 0)
	for {
		e, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for name, s := range map[string][]byte{"Raw": e.Raw, "Name": e.Name, "Data": e.Data, "ID": e.ID} {
			if cap(s) != len(s) {
				t.Errorf("event %q: %s has cap %d > len %d", e.Raw, name, cap(s), len(s))
			}
		}
	}
}

// TestReaderZeroAllocs proves the steady state: once a pooled Reader is warm, reading a
// whole stream allocates nothing.
func TestReaderZeroAllocs(t *testing.T) {
	streams := map[string][]byte{
		"openai":           openAIStream(100),
		"anthropic":        anthropicStream(100),
		"crlf":             bytes.ReplaceAll(openAIStream(100), []byte("\n"), []byte("\r\n")),
		"multi-line data":  bytes.Repeat([]byte("data: a\ndata: b\ndata: c\n\n"), 100),
		"long field names": bytes.Repeat([]byte(strings.Repeat("x", 100)+": y\ndata: z\n\n"), 100),
	}
	for name, stream := range streams {
		t.Run(name, func(t *testing.T) {
			src := &cutReader{data: stream, cuts: randomCuts(len(stream), 300, 7)}
			r := NewReader(nil, 0)
			events := 0
			allocs := testing.AllocsPerRun(20, func() {
				src.reset()
				r.Reset(src)
				for {
					_, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					events++
				}
			})
			if events == 0 {
				t.Fatal("no events read")
			}
			if allocs != 0 {
				t.Errorf("%v allocations per stream, want 0", allocs)
			}
		})
	}
}
