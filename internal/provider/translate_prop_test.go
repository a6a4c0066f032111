package provider_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// A streamed reply and the complete reply of the same content read the
// same to a client of every format, from an upstream of every format:
//
//	stream: upstream events → upstream decoder → client encoder → client
//	        SSE → the client format's own stream decoder → content
//	reply:  upstream body → upstream DecodeReply → client EncodeReply →
//	        the client format's own DecodeReply → content
//
// Same-content pairs come from random canonical replies, written as each
// upstream format by that format's own reply and stream encoders (Bedrock,
// which has none outside its package, by converseReply and converseEvents
// below). Texts hold escapes, controls and characters outside the BMP; tool
// arguments are split into fragments at random places (between runes: each
// fragment is a JSON string of its own on the wire).
func TestTranslateStreamMatchesReply(t *testing.T) {
	const n = 200
	rng := rand.New(rand.NewPCG(16, 2026))
	for i := range n {
		r := randomReply(rng)
		evs := replyEvents(&r, rng)
		for _, up := range xformats {
			body, stream := upstreamPair(t, up, &r, evs)
			truth := replyContent(&r)
			if up.op == provider.OpConverse {
				truth.Usage.Reasoning = 0 // Bedrock does not report it
			}
			for _, c := range clients() {
				name := fmt.Sprintf("%d/%s_to_%s", i, c.name, up.name)
				got, err := compareStreamReply(c, up, body, stream)
				if err != nil {
					t.Fatalf("%s: %v\nreply: %+v", name, err, r)
				}
				// Both agree with what the upstream said, too.
				if !sameContent(got, truth) {
					t.Fatalf("%s: the client reads\n%v\nthe upstream said\n%v", name, got, truth)
				}
			}
		}
	}
}

// compareStreamReply translates both and compares what the client reads,
// which it returns.
func compareStreamReply(c, up xformat, body []byte, stream []rawEvent) (content, error) {
	req := &canon.Request{Model: up.model, Stream: true, IncludeUsage: true}

	var r1, r2 canon.Reply
	if err := up.codec().DecodeReply(body, &r1); err != nil {
		return content{}, fmt.Errorf("upstream reply: %v\n%s", err, body)
	}
	out := c.codec().EncodeReply(nil, &r1, req)
	if err := c.codec().DecodeReply(out, &r2); err != nil {
		return content{}, fmt.Errorf("the client's reply does not decode: %v\n%s", err, out)
	}
	want := replyContent(&r2)

	sseOut, mid, err := translateStream(up.codec(), c.codec(), req, stream)
	if err != nil {
		return content{}, fmt.Errorf("upstream stream: %v", err)
	}
	if err := checkGrammar(mid); err != nil {
		return content{}, fmt.Errorf("upstream decoder: %v", err)
	}
	got, err := readClientStream(c, sseOut)
	if err != nil {
		return content{}, fmt.Errorf("%v\n%s", err, sseOut)
	}
	if !sameContent(got, want) {
		return content{}, fmt.Errorf("stream and reply differ\nstream:\n%v\nreply:\n%v\nclient stream:\n%s\nclient reply:\n%s", got, want, sseOut, out)
	}
	return got, nil
}

// sameContent compares what a client reads; tool arguments compare as
// JSON texts whose whitespace may differ (a format that carries them as
// an object, Gemini's and Anthropic's, may re-space them).
func sameContent(a, b content) bool {
	if a.Text != b.Text || a.Thinking != b.Thinking || a.Refusal != b.Refusal || a.Stop != b.Stop || a.Usage != b.Usage || len(a.Calls) != len(b.Calls) {
		return false
	}
	for i := range a.Calls {
		if a.Calls[i].Name != b.Calls[i].Name || compactJSON(a.Calls[i].Args) != compactJSON(b.Calls[i].Args) {
			return false
		}
	}
	return true
}

func compactJSON(s string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(s)) != nil {
		return s
	}
	return b.String()
}

// readClientStream reads a client's SSE stream back with the client
// format's own stream decoder.
func readClientStream(c xformat, out []byte) (content, error) {
	evs, err := parseSSE(out)
	if err != nil {
		return content{}, fmt.Errorf("client stream: %v", err)
	}
	dec := c.codec().NewDecoder()
	acc := accumulator{merge: c.op == provider.OpChat}
	var g grammar
	var buf []canon.Event
	for _, e := range evs {
		if buf, err = dec.Decode(e.name, e.data, buf[:0]); err != nil {
			return content{}, fmt.Errorf("the client's stream does not decode: %v", err)
		}
		for i := range buf {
			if err := g.step(&buf[i]); err != nil {
				return content{}, fmt.Errorf("the client's stream, decoded: %v", err)
			}
			acc.add(&buf[i])
		}
	}
	return acc.content(), nil
}

// upstreamPair writes r as up's complete reply and as its stream.
func upstreamPair(t *testing.T, up xformat, r *canon.Reply, evs []canon.Event) ([]byte, []rawEvent) {
	t.Helper()
	if up.op == provider.OpConverse {
		return converseReply(r), converseEvents(evs)
	}
	req := &canon.Request{Model: up.model, Stream: true, IncludeUsage: true}
	cd := up.codec()
	body := cd.EncodeReply(nil, r, req)
	enc := cd.NewEncoder(req)
	var f canon.Frames
	var sse []byte
	for i := range evs {
		f.Reset()
		enc.Encode(&f, &evs[i])
		sse = f.AppendSSE(sse)
	}
	return body, readSSE(t, sse)
}

// textPieces are what random texts are made of: plain words, JSON's
// escapes, controls, SSE's own syntax, HTML, and characters of two, three
// and four bytes.
var textPieces = []string{
	"Hello", " world", ".", " ", "\n", "\r\n", "\t", `"`, `\`, "/", `\"`, "\\n", "<b>", "&amp;", "'",
	"é", "ß", "日本語", "😀", "👩‍💻", "\u2028", "\u2029", "\u00a0", "\ufeff", "\x00", "\x01", "\x1f", "\x7f",
	"data: x", "event: y", "[DONE]", "{", "}", ":", "\n\n",
}

func randomText(rng *rand.Rand, max int) string {
	var b strings.Builder
	for range rng.IntN(max + 1) {
		b.WriteString(textPieces[rng.IntN(len(textPieces))])
	}
	return b.String()
}

// randomJSON appends a random JSON value of depth at most depth, spaced
// compactly or not.
func randomJSON(rng *rand.Rand, dst []byte, depth int, spaced bool) []byte {
	sep := ","
	if spaced {
		sep = ", "
	}
	switch k := rng.IntN(8); {
	case depth > 0 && k == 0:
		dst = append(dst, '[')
		for i := range rng.IntN(4) {
			if i > 0 {
				dst = append(dst, sep...)
			}
			dst = randomJSON(rng, dst, depth-1, spaced)
		}
		return append(dst, ']')
	case depth > 0 && k == 1:
		return randomObject(rng, dst, depth-1, spaced)
	case k == 2:
		return strconv.AppendInt(dst, rng.Int64N(2000)-1000, 10)
	case k == 3:
		return append(dst, [...]string{"1.5", "-0.25", "1e3", "2.5E-7", "0", "-0"}[rng.IntN(6)]...)
	case k == 4:
		return append(dst, [...]string{"true", "false", "null"}[rng.IntN(3)]...)
	}
	return wire.AppendJSONString(dst, randomText(rng, 4))
}

func randomObject(rng *rand.Rand, dst []byte, depth int, spaced bool) []byte {
	sep, colon := ",", ":"
	if spaced {
		sep, colon = ", ", ": "
	}
	dst = append(dst, '{')
	for i := range rng.IntN(4) {
		if i > 0 {
			dst = append(dst, sep...)
		}
		dst = wire.AppendJSONString(dst, fmt.Sprintf("k%d%s", i, randomText(rng, 1)))
		dst = append(dst, colon...)
		dst = randomJSON(rng, dst, depth, spaced)
	}
	return append(dst, '}')
}

var toolNames = []string{"get_weather", "lookup_address", "run-shell", "a"}

// randomReply is a reply an upstream might send: thinking or not, text or
// not (possibly empty), 0 to 3 tool calls (now and then with text between
// them), a stop that matches them, and usage with cached and reasoning
// tokens.
func randomReply(rng *rand.Rand) canon.Reply {
	r := canon.Reply{ID: fmt.Sprintf("rid%d", rng.Uint32()), Model: "model-x", Created: 1748736000}
	if rng.IntN(2) == 0 {
		p := canon.Part{Kind: canon.PartThinking, Text: randomText(rng, 8)}
		if p.Text == "" {
			p.Text = "hmm"
		}
		if rng.IntN(2) == 0 {
			p.Signature = "c2ln" + strconv.Itoa(rng.IntN(1000))
		}
		r.Parts = append(r.Parts, p)
	}
	if rng.IntN(5) != 0 {
		r.Parts = append(r.Parts, canon.Part{Kind: canon.PartText, Text: randomText(rng, 30)})
	}
	for i := range rng.IntN(4) {
		args := randomObject(rng, nil, 2, rng.IntN(2) == 0)
		r.Parts = append(r.Parts, canon.Part{Kind: canon.PartToolCall, ID: fmt.Sprintf("call_%d_%d", rng.Uint32(), i),
			Name: toolNames[rng.IntN(len(toolNames))], Args: string(args)})
		if rng.IntN(6) == 0 { // text between calls, as some models write
			r.Parts = append(r.Parts, canon.Part{Kind: canon.PartText, Text: randomText(rng, 6)})
		}
	}
	r.Stop.Reason = canon.StopEnd
	for _, p := range r.Parts {
		if p.Kind == canon.PartToolCall {
			r.Stop.Reason = canon.StopTool
		}
	}
	if rng.IntN(8) == 0 {
		r.Stop.Reason = canon.StopLength
	}
	u := &r.Usage
	u.Valid = true
	u.Input = 1 + rng.Int64N(5000)
	u.CacheRead = rng.Int64N(u.Input)
	u.Output = 1 + rng.Int64N(2000)
	if r.Parts != nil && r.Parts[0].Kind == canon.PartThinking {
		u.Reasoning = rng.Int64N(u.Output)
	}
	return r
}

// replyEvents is r as a decoder emits it: input usage first, each part's
// text or arguments in random fragments, the stop, the final usage.
func replyEvents(r *canon.Reply, rng *rand.Rand) []canon.Event {
	evs := []canon.Event{{Kind: canon.EvStart, ID: r.ID, Model: r.Model},
		{Kind: canon.EvUsage, Usage: canon.Usage{Valid: true, Input: r.Usage.Input, CacheRead: r.Usage.CacheRead}}}
	for i, p := range r.Parts {
		evs = append(evs, canon.Event{Kind: canon.EvPartStart, Index: i, Part: canon.Part{Kind: p.Kind, ID: p.ID, Name: p.Name}})
		s := p.Text
		if p.Kind == canon.PartToolCall {
			s = p.Args
		}
		for _, frag := range fragments(rng, s) {
			evs = append(evs, canon.Event{Kind: canon.EvDelta, Index: i, Text: frag})
		}
		if p.Signature != "" {
			evs = append(evs, canon.Event{Kind: canon.EvDelta, Index: i, Signature: p.Signature})
		}
		evs = append(evs, canon.Event{Kind: canon.EvPartStop, Index: i})
	}
	return append(evs, canon.Event{Kind: canon.EvStop, Stop: r.Stop}, canon.Event{Kind: canon.EvUsage, Usage: r.Usage},
		canon.Event{Kind: canon.EvEnd})
}

// fragments cuts s at up to 4 random places between runes.
func fragments(rng *rand.Rand, s string) []string {
	var out []string
	for len(s) > 0 {
		if rng.IntN(5) == 0 {
			break
		}
		i := rng.IntN(len(s) + 1)
		for i < len(s) && !utf8.RuneStart(s[i]) {
			i++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}
