package guard

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/sse"
)

// mustPolicy compiles rules as one set and returns its policy.
func mustPolicy(t testing.TB, rules ...Rule) *Policy {
	t.Helper()
	return limitPolicy(t, 0, rules...)
}

// limitPolicy is mustPolicy with a scan limit (0: the default).
func limitPolicy(t testing.TB, limit int, rules ...Rule) *Policy {
	t.Helper()
	e, err := New([]Set{{Name: "s", Rules: rules}}, Options{ScanLimit: limit})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	p, err := e.Policy("s")
	if err != nil {
		t.Fatalf("Policy: %v", err)
	}
	return p
}

func reRule(name, pattern string, a Action, sc Scope) Rule {
	return Rule{Name: name, Kind: KindRegex, Pattern: pattern, Action: a, Scope: sc}
}

// jsonStr encodes s as a JSON string the way a typical upstream does.
func jsonStr(s string) string {
	return string(provider.AppendJSONString(nil, s))
}

// chatReply is a non-stream chat completion carrying text.
func chatReply(text string) []byte {
	return []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":` +
		jsonStr(text) + `},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`)
}

// replyText returns choices[0].message.content of a chat reply.
func replyText(t testing.TB, body []byte) string {
	t.Helper()
	var r struct {
		Choices []struct {
			Message struct{ Content string }
		}
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("reply is not valid JSON: %v\n%s", err, body)
	}
	return r.Choices[0].Message.Content
}

// redactedReply returns what CheckResponse makes of text in a chat reply,
// or the error.
func redactedReply(t testing.TB, p *Policy, text string) (string, error) {
	t.Helper()
	body := chatReply(text)
	out, _, err := p.CheckResponse(provider.FormatOpenAI, provider.OpChat, body, nil, nil)
	if err != nil {
		return "", err
	}
	return replyText(t, out), nil
}

// openaiDelta is one chat.completion.chunk carrying content.
func openaiDelta(text string) string {
	return `{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,"delta":{"content":` +
		jsonStr(text) + `},"logprobs":null,"finish_reason":null}]}`
}

const (
	openaiRole   = `{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`
	openaiFinish = `{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`
)

// openaiStream is the SSE body of a chat stream whose content comes in the
// given chunks.
func openaiStream(chunks []string) []byte {
	b := sse.AppendData(nil, []byte(openaiRole))
	for _, c := range chunks {
		b = sse.AppendData(b, []byte(openaiDelta(c)))
	}
	b = sse.AppendData(b, []byte(openaiFinish))
	return sse.AppendData(b, []byte("[DONE]"))
}

// anthropicStream is the SSE body of a Messages stream with one text block.
func anthropicStream(chunks []string) []byte {
	b := sse.AppendEvent(nil, []byte("message_start"), []byte(`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"m","usage":{"input_tokens":1,"output_tokens":1}}}`))
	b = sse.AppendEvent(b, []byte("content_block_start"), []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`))
	b = sse.AppendEvent(b, []byte("ping"), []byte(`{"type": "ping"}`))
	for _, c := range chunks {
		b = sse.AppendEvent(b, []byte("content_block_delta"), []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+jsonStr(c)+`}}`))
	}
	b = sse.AppendEvent(b, []byte("content_block_stop"), []byte(`{"type":"content_block_stop","index":0}`))
	b = sse.AppendEvent(b, []byte("message_delta"), []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}`))
	return sse.AppendEvent(b, []byte("message_stop"), []byte(`{"type":"message_stop"}`))
}

// relay runs an SSE body through a Stream as the gateway does; finish calls
// Finish when the body ends.
func relay(t testing.TB, s *Stream, body []byte, finish bool) ([]byte, error) {
	t.Helper()
	rd := sse.NewReader(bytes.NewReader(body), 0)
	var out []byte
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading the test stream: %v", err)
		}
		out, err = s.Event(out, &ev)
		if err != nil {
			return out, err
		}
	}
	if finish {
		out = s.Finish(out)
	}
	return out, s.Err()
}

// sseEvent is one parsed event of a relayed stream.
type sseEvent struct {
	Name, Data string
}

func parseEvents(t testing.TB, body []byte) []sseEvent {
	t.Helper()
	rd := sse.NewReader(bytes.NewReader(body), 0)
	var evs []sseEvent
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return evs
		}
		if err != nil {
			t.Fatalf("relayed stream does not parse: %v", err)
		}
		if ev.Incomplete {
			t.Fatalf("relayed stream has an incomplete event: %q", ev.Raw)
		}
		evs = append(evs, sseEvent{string(ev.Name), string(ev.Data)})
	}
}

// streamText concatenates the text a client sees in a relayed stream of
// the given operation (channel 0 only), checking each event's JSON.
func streamText(t testing.TB, op provider.Operation, body []byte) string {
	t.Helper()
	var sb strings.Builder
	for _, ev := range parseEvents(t, body) {
		if ev.Data == "[DONE]" {
			continue
		}
		if !json.Valid([]byte(ev.Data)) {
			t.Fatalf("event data is not valid JSON: %q", ev.Data)
		}
		switch op {
		case provider.OpChat:
			var c struct {
				Choices []struct {
					Delta struct {
						Content *string
					}
				}
			}
			_ = json.Unmarshal([]byte(ev.Data), &c)
			for _, ch := range c.Choices {
				if ch.Delta.Content != nil {
					sb.WriteString(*ch.Delta.Content)
				}
			}
		case provider.OpMessages:
			var c struct {
				Type  string
				Delta struct{ Type, Text string }
			}
			_ = json.Unmarshal([]byte(ev.Data), &c)
			if c.Type == "content_block_delta" && c.Delta.Type == "text_delta" {
				sb.WriteString(c.Delta.Text)
			}
		}
	}
	return sb.String()
}
