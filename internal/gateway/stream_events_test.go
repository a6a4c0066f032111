package gateway_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/sse"
)

// The events of a Responses stream, by sequence number; "%s" is the text
// of the deltas (JSON string contents).
const (
	respCreated   = `{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","created_at":1,"status":"in_progress","model":"m","output":[]}}`
	respItemAdded = `{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","role":"assistant","content":[]}}`
	respPartAdded = `{"type":"response.content_part.added","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}`
	respDelta     = `{"type":"response.output_text.delta","sequence_number":%d,"item_id":"msg_1","output_index":0,"content_index":0,"delta":%s,"logprobs":[]}`
)

// responsesTail returns the events that close a Responses stream whose
// text is text, numbered from seq.
func responsesTail(seq int, text string) []string {
	q, _ := json.Marshal(text)
	return []string{
		fmt.Sprintf(`{"type":"response.output_text.done","sequence_number":%d,"item_id":"msg_1","output_index":0,"content_index":0,"text":%s,"logprobs":[]}`, seq, q),
		fmt.Sprintf(`{"type":"response.content_part.done","sequence_number":%d,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":%s,"annotations":[]}}`, seq+1, q),
		fmt.Sprintf(`{"type":"response.output_item.done","sequence_number":%d,"output_index":0,"item":{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":%s,"annotations":[]}]}}`, seq+2, q),
		fmt.Sprintf(`{"type":"response.completed","sequence_number":%d,"response":{"id":"resp_1","object":"response","created_at":1,"status":"completed","model":"m","output":[{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":%s,"annotations":[]}]}],"usage":{"input_tokens":3,"output_tokens":5,"total_tokens":8}}}`, seq+3, q),
	}
}

// responsesStream is a whole Responses stream whose deltas carry pieces.
func responsesStream(pieces []string) []string {
	evs := []string{respCreated, respItemAdded, respPartAdded}
	for i, p := range pieces {
		q, _ := json.Marshal(p)
		evs = append(evs, fmt.Sprintf(respDelta, 3+i, q))
	}
	return append(evs, responsesTail(3+len(pieces), strings.Join(pieces, ""))...)
}

// sseUpstream serves, for any request, the given event data as a stream:
// named by their "type" when named is set (Anthropic, Responses).
func sseUpstream(t *testing.T, named bool, events []string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		for _, d := range events {
			if named {
				var ev struct{ Type string }
				_ = json.Unmarshal([]byte(d), &ev)
				if ev.Type == "" { // not JSON: the name from its start
					i := strings.Index(d, `"type":"`) + len(`"type":"`)
					ev.Type = d[i : i+strings.IndexByte(d[i:], '"')]
				}
				fmt.Fprintf(w, "event: %s\n", ev.Type)
			}
			fmt.Fprintf(w, "data: %s\n\n", d)
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// parseSSE returns the events of a relayed stream.
func parseSSE(t *testing.T, body string) []sse.Event {
	t.Helper()
	rd := sse.NewReader(strings.NewReader(body), 1<<20)
	var evs []sse.Event
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return evs
		}
		if err != nil {
			t.Fatalf("relayed stream does not parse: %v\n%s", err, body)
		}
		ev.Name, ev.Data = bytes.Clone(ev.Name), bytes.Clone(ev.Data)
		evs = append(evs, ev)
	}
}

// badEventStreams are streams, per route, whose third event is complete
// at the SSE level but not valid JSON, and holds an e-mail address.
var badEventStreams = []struct {
	path, model, open string // open: the route's model without guardrails
	named             bool
	events            []string
	lastSeq           int64 // Responses: the bad event's number
}{
	{
		path: "/v1/chat/completions", model: "split", open: "split-open",
		events: []string{
			`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
			`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hello "},"finish_reason":null}]}`,
			`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"write to jane.doe@exam`,
			`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"ple.com"},"finish_reason":null}]}`,
			`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
			`[DONE]`,
		},
	},
	{
		path: "/v1/messages", model: "split-anthropic", open: "split-anthropic-open", named: true,
		events: []string{
			`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"usage":{"input_tokens":3,"output_tokens":0}}}`,
			`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
			`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"write to jane.doe@example.com}}`,
			`{"type":"content_block_stop","index":0}`,
			`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}`,
			`{"type":"message_stop"}`,
		},
	},
	{
		path: "/v1/responses", model: "split", open: "split-open", named: true,
		events: append([]string{respCreated, respItemAdded, respPartAdded,
			`{"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"write to jane.doe@example.com","logprobs":[]`},
			responsesTail(4, "write to jane.doe@example.com")...),
	},
}

func TestStreamInvalidEventWithGuardrails(t *testing.T) {
	// Output guardrails on: an event they cannot read never reaches the
	// client; the stream ends with the format's error event, and the log
	// says why (with the request id, never the event).
	for _, tc := range badEventStreams {
		t.Run(tc.path, func(t *testing.T) {
			up := sseUpstream(t, tc.named, tc.events)
			s := newStackYAML(t, map[string]string{"SPLIT": up.URL}, guardConfig)
			resp, body := s.post(t, tc.path, `{"model":"`+tc.model+`","max_tokens":9,"stream":true,"input":"hi","messages":[{"role":"user","content":"hi"}]}`, bearer("sk-plain"))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if strings.Contains(body, "jane") || strings.Contains(body, "[DONE]") || strings.Contains(body, "message_stop") || strings.Contains(body, "response.completed") {
				t.Errorf("the bad event, or what followed it, was relayed:\n%s", body)
			}
			evs := parseSSE(t, body)
			last := evs[len(evs)-1]
			if !strings.Contains(string(last.Data), "not valid JSON") {
				t.Errorf("last event is not the error event: %s", last.Data)
			}
			switch tc.path {
			case "/v1/chat/completions":
				var e openAIError
				if err := json.Unmarshal(last.Data, &e); err != nil || e.Error.Code != "upstream_unreachable" {
					t.Errorf("error event: %s", last.Data)
				}
			case "/v1/messages":
				var e anthropicError
				if err := json.Unmarshal(last.Data, &e); err != nil || string(last.Name) != "error" || e.Error.Type != "api_error" {
					t.Errorf("error event: %s", last.Data)
				}
			default:
				var e struct{ Type, Code string }
				if err := json.Unmarshal(last.Data, &e); err != nil || string(last.Name) != "error" || e.Type != "error" || e.Code != "upstream_unreachable" {
					t.Errorf("error event: %s", last.Data)
				}
			}
			logs := s.logs.String()
			if !strings.Contains(logs, "request_id="+resp.Header.Get("X-Request-Id")) || !strings.Contains(logs, "not valid JSON") {
				t.Errorf("the cut is not logged with the request id:\n%s", logs)
			}
			if strings.Contains(logs, "jane") {
				t.Errorf("the event's text reached the log:\n%s", logs)
			}
		})
	}
}

func TestStreamInvalidEventWithoutGuardrails(t *testing.T) {
	// No output guardrails: Sluice checks nothing, and the events are
	// relayed as the provider sent them, the bad one included.
	cfg := guardConfig + "  - {name: split-anthropic-open, targets: [{provider: split-anthropic}]}\n"
	for _, tc := range badEventStreams {
		t.Run(tc.path, func(t *testing.T) {
			up := sseUpstream(t, tc.named, tc.events)
			s := newStackYAML(t, map[string]string{"SPLIT": up.URL}, cfg)
			resp, body := s.post(t, tc.path, `{"model":"`+tc.open+`","max_tokens":9,"stream":true,"input":"hi","messages":[{"role":"user","content":"hi"}]}`, bearer("sk-plain"))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			evs := parseSSE(t, body)
			if len(evs) != len(tc.events) {
				t.Fatalf("%d events relayed, want the upstream's %d:\n%s", len(evs), len(tc.events), body)
			}
			for i, ev := range evs {
				if string(ev.Data) != tc.events[i] {
					t.Errorf("event %d = %s, want %s", i, ev.Data, tc.events[i])
				}
			}
		})
	}
}
