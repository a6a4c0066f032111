package provider_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/sse"
)

// The translation tests (issue #16) run every direction the gateway
// translates through provider.Codec, the way gateway/translate.go does:
// client body → client DecodeRequest → canon → upstream EncodeRequest;
// upstream reply → upstream DecodeReply → client EncodeReply; upstream
// events → upstream decoder → client encoder → SSE.

var updateTranslate = flag.Bool("update-translate", false, "rewrite the golden files under testdata/translate/out")

// xformat is one wire format as the translation tests use it: its name in
// file names, its operation, and the model a target of that format serves
// (what the gateway sets as Request.Model before encoding).
type xformat struct {
	name  string
	op    provider.Operation
	model string
}

// xformats lists every format with a codec; the first four are also
// clients' formats (Bedrock's Converse is upstream only).
var xformats = []xformat{
	{"chat", provider.OpChat, "gpt-4.1"},
	{"responses", provider.OpResponses, "gpt-5"},
	{"messages", provider.OpMessages, "claude-sonnet-4-5-20250929"},
	{"generate", provider.OpGenerate, "gemini-2.5-flash"},
	{"converse", provider.OpConverse, "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
}

func (f xformat) codec() *canon.Codec { return provider.Codec(f.op) }

// clients returns the formats clients speak: those whose codec decodes
// requests.
func clients() []xformat {
	var out []xformat
	for _, f := range xformats {
		if f.codec().DecodeRequest != nil {
			out = append(out, f)
		}
	}
	return out
}

// direction is one translation: a client of one format served by an
// upstream of another.
type direction struct{ client, up xformat }

func (d direction) String() string { return d.client.name + "_to_" + d.up.name }

// directions returns every translation the gateway can make (ServeOp may
// pick fewer: Azure serves Responses clients through chat, OpenAI's kind
// never turns chat into Responses; the codecs can, so all are tested).
func directions() []direction {
	var out []direction
	for _, c := range clients() {
		for _, u := range xformats {
			if c.op != u.op {
				out = append(out, direction{c, u})
			}
		}
	}
	return out
}

const translateDir = "testdata/translate"

func readIn(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(translateDir, "in", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawEvent is one upstream stream event: its name (the SSE event field, or
// Bedrock's :event-type) and data.
type rawEvent struct{ name, data []byte }

// readSSE splits an SSE stream into its events as the gateway reads them
// (comments, events with neither name nor data, are skipped).
func readSSE(t testing.TB, b []byte) []rawEvent {
	t.Helper()
	evs, err := parseSSE(b)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func parseSSE(b []byte) ([]rawEvent, error) {
	rd := sse.NewReader(bytes.NewReader(b), 0)
	var out []rawEvent
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if len(ev.Name) == 0 && len(ev.Data) == 0 {
			continue
		}
		out = append(out, rawEvent{bytes.Clone(ev.Name), bytes.Clone(ev.Data)})
	}
}

// readConverse reads a ConverseStream fixture: one decoded event-stream
// message a line, "<event type> <JSON payload>" (the pairs
// provider.NewEventStreamReader returns; the binary framing has tests of
// its own in package bedrock).
func readConverse(b []byte) []rawEvent {
	var out []rawEvent
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, data, _ := bytes.Cut(sc.Bytes(), []byte(" "))
		if len(name) > 0 {
			out = append(out, rawEvent{bytes.Clone(name), bytes.Clone(data)})
		}
	}
	return out
}

// upstreamStream reads format f's stream fixture.
func upstreamStream(t testing.TB, f xformat) []rawEvent {
	if f.op == provider.OpConverse {
		return readConverse(readIn(t, f.name+".stream.txt"))
	}
	return readSSE(t, readIn(t, f.name+".stream.sse"))
}

// clientRequest decodes a client request fixture and readies it as the
// gateway does before encoding (the target's model set).
func clientRequest(t testing.TB, d direction, name string) (*canon.Request, error) {
	t.Helper()
	var r canon.Request
	if err := d.client.codec().DecodeRequest(readIn(t, name), &r); err != nil {
		return nil, err
	}
	r.Model = d.up.model
	return &r, nil
}

// translateStream runs events through up's decoder and client's encoder,
// as the gateway's fillTranslated does, and returns the client's stream as
// SSE and the canonical events in between (with their strings copied).
func translateStream(up, client *canon.Codec, req *canon.Request, evs []rawEvent) (out []byte, mid []canon.Event, err error) {
	dec, enc := up.NewDecoder(), client.NewEncoder(req)
	var f canon.Frames
	var buf []canon.Event
	for _, e := range evs {
		buf, err = dec.Decode(e.name, e.data, buf[:0])
		if err != nil {
			return out, mid, err
		}
		for i := range buf {
			mid = append(mid, ownEvent(buf[i]))
			f.Reset()
			enc.Encode(&f, &buf[i])
			out = f.AppendSSE(out)
		}
	}
	return out, mid, nil
}

// ownEvent copies an event's strings, views into a decoder's buffers.
func ownEvent(ev canon.Event) canon.Event {
	ev.ID, ev.Model, ev.Text, ev.Signature = strings.Clone(ev.ID), strings.Clone(ev.Model), strings.Clone(ev.Text), strings.Clone(ev.Signature)
	p := &ev.Part
	p.Text, p.ID, p.Name, p.Redacted, p.Signature = strings.Clone(p.Text), strings.Clone(p.ID), strings.Clone(p.Name), strings.Clone(p.Redacted), strings.Clone(p.Signature)
	ev.Err.Message, ev.Err.Code, ev.Err.Param = strings.Clone(ev.Err.Message), strings.Clone(ev.Err.Code), strings.Clone(ev.Err.Param)
	return ev
}

// golden compares got with the golden file at path (under
// testdata/translate/out), or writes it with -update-translate.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	path = filepath.Join(translateDir, "out", path)
	if *updateTranslate {
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
		t.Fatalf("%v (run go test -run Translate -update-translate to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the translation (-want +got):\n%s", path, diffLines(string(want), string(got)))
	}
}

// removeGolden deletes a golden file another outcome replaced (a request
// that now translates leaves no FieldError golden behind), with
// -update-translate; without it, a stale file is an error.
func removeGolden(t *testing.T, path string) {
	t.Helper()
	path = filepath.Join(translateDir, "out", path)
	if _, err := os.Stat(path); err != nil {
		return
	}
	if *updateTranslate {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is stale: the translation's outcome changed (run with -update-translate)", path)
}

// diffLines is a small line diff: the first lines that differ, with
// context, enough to read a golden mismatch.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at line %d\n", i+1)
	for j := i; j < i+8; j++ {
		if j < len(w) {
			fmt.Fprintf(&b, "-%s\n", w[j])
		}
		if j < len(g) {
			fmt.Fprintf(&b, "+%s\n", g[j])
		}
	}
	return b.String()
}

// indented is the golden form of a JSON body: the exact bytes, indented
// (encoding/json's Indent changes only whitespace, so escapes, number
// spellings and key order stay as the encoder wrote them). A body that is
// not JSON fails the test.
func indented(t *testing.T, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		t.Errorf("output is not JSON (%v):\n%s", err, body)
		return body
	}
	return append(b.Bytes(), '\n')
}

// checkSSE fails the test unless every event of a client stream holds a
// JSON object, or OpenAI's [DONE].
func checkSSE(t *testing.T, out []byte) {
	t.Helper()
	evs, err := parseSSE(out)
	if err != nil {
		t.Fatalf("client stream: %v", err)
	}
	for i, e := range evs {
		if string(e.data) != "[DONE]" && !json.Valid(e.data) {
			t.Errorf("client event %d (%s) is not JSON: %s", i, e.name, e.data)
		}
	}
}

// fieldErrorGolden is the golden form of a refused request.
func fieldErrorGolden(t *testing.T, err error) []byte {
	t.Helper()
	var fe *canon.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("EncodeRequest: %v, not a *canon.FieldError", err)
	}
	return []byte("refused with a *canon.FieldError (the gateway answers 400)\nfield: " + fe.Field + "\nmessage: " + fe.Msg + "\n")
}

// Values encoders take from the clock or a random source when the upstream
// sent none (Converse replies have no id and no time; some encoders date
// every reply). Golden files hold placeholders for them.
var (
	reTime      = regexp.MustCompile(`"(created|created_at)":(\d{10})\b`)
	reGenerated = regexp.MustCompile(`\b(chatcmpl-[0-9a-z]{8,16}|msg_[0-9A-Za-z]{24}|toolu_[0-9A-Za-z]{24}|resp_[0-9a-f]{32})`)
)

// stable replaces, in out, times within the test run's clock (from start
// on) by 1700000000, and the random or time-based part of ids that do not
// occur in in by "GENERATED", wherever it occurs (the Responses encoder
// derives its items' ids from the reply's).
func stable(out, in []byte, start time.Time) []byte {
	out = reTime.ReplaceAllFunc(out, func(m []byte) []byte {
		sub := reTime.FindSubmatch(m)
		n, _ := strconv.ParseInt(string(sub[2]), 10, 64)
		if n >= start.Unix()-1 && n <= time.Now().Unix()+1 {
			return []byte(`"` + string(sub[1]) + `":1700000000`)
		}
		return m
	})
	for _, m := range reGenerated.FindAll(out, -1) {
		if !bytes.Contains(in, m) {
			suffix := m[bytes.IndexAny(m, "-_")+1:]
			out = bytes.ReplaceAll(out, suffix, []byte("GENERATED"))
		}
	}
	return out
}
