package gateway_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3/packages/respjson"
	"github.com/openai/openai-go/v3/responses"

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

// responsesEvents checks every event of a relayed Responses stream against
// openai-go's event types (the API's schema): a known type, named as its
// event, with every required field present. It returns them decoded.
func responsesEvents(t *testing.T, body string) []responses.ResponseStreamEventUnion {
	t.Helper()
	var out []responses.ResponseStreamEventUnion
	for _, ev := range parseSSE(t, body) {
		var u responses.ResponseStreamEventUnion
		if err := json.Unmarshal(ev.Data, &u); err != nil {
			t.Fatalf("event %s: %v", ev.Data, err)
		}
		if u.Type != string(ev.Name) {
			t.Errorf("event named %q has type %q: %s", ev.Name, u.Type, ev.Data)
		}
		v := reflect.ValueOf(u.AsAny())
		if !v.IsValid() {
			t.Errorf("event of unknown type: %s", ev.Data)
			continue
		}
		meta := v.FieldByName("JSON")
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.Tag.Get("api") != "required" {
				continue
			}
			if jf := meta.FieldByName(f.Name).Interface().(respjson.Field); jf.Raw() == "" {
				t.Errorf("%s event lacks required field %s: %s", u.Type, f.Tag.Get("json"), ev.Data)
			}
		}
		if !u.JSON.SequenceNumber.Valid() {
			t.Errorf("%s event has no sequence_number: %s", u.Type, ev.Data)
		}
		out = append(out, u)
	}
	return out
}

// checkResponsesError checks that a Responses stream ends with Sluice's
// error event, numbered after the upstream's last event (lastSeq), with the
// API's fields and no others, and returns it.
func checkResponsesError(t *testing.T, body string, lastSeq int64) responses.ResponseErrorEvent {
	t.Helper()
	evs := responsesEvents(t, body)
	if len(evs) == 0 || evs[len(evs)-1].Type != "error" {
		t.Fatalf("stream does not end with an error event:\n%s", body)
	}
	e := evs[len(evs)-1].AsError()
	if e.SequenceNumber != lastSeq+1 {
		t.Errorf("error event sequence_number = %d, want %d (the upstream's last + 1)", e.SequenceNumber, lastSeq+1)
	}
	if !e.JSON.Code.Valid() || !e.JSON.Message.Valid() || e.JSON.Param.Raw() != "null" || len(e.JSON.ExtraFields) > 0 {
		t.Errorf("error event fields: %s", e.RawJSON())
	}
	for _, ev := range evs[:len(evs)-1] {
		if ev.SequenceNumber > lastSeq {
			t.Errorf("event numbered %d relayed after the upstream's last, %d", ev.SequenceNumber, lastSeq)
		}
	}
	return e
}

func TestResponsesStreamEventsMatchSchema(t *testing.T) {
	// Every event Sluice writes into a Responses stream (error events,
	// and the events that carry text the output guardrails held back)
	// matches the API's schema; error events continue the numbering.
	const req = `{"model":"split","stream":true,"input":"hi"}`
	t.Run("upstream dies mid-stream", func(t *testing.T) {
		s := newStack(t, nil)
		resp, body := s.post(t, "/v1/responses", `{"model":"gpt-4o-mini","stream":true,"input":"hi"}`,
			map[string]string{"X-Mock-Disconnect-After": "3", "X-Mock-Tokens": "20"})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		evs := responsesEvents(t, body)
		if len(evs) < 2 {
			t.Fatalf("too few events:\n%s", body)
		}
		e := checkResponsesError(t, body, evs[len(evs)-2].SequenceNumber)
		if e.Code != "upstream_unreachable" || strings.Contains(e.Message, "before a reply") {
			t.Errorf("error event: %s", e.RawJSON())
		}
	})
	t.Run("held text flushed by the guardrails", func(t *testing.T) {
		pieces := []string{"Reach me at jo", "hn.sm", "ith@exam", "ple.org"}
		up := sseUpstream(t, true, responsesStream(pieces))
		s := newStackYAML(t, map[string]string{"SPLIT": up.URL}, guardConfig)
		resp, body := s.post(t, "/v1/responses", req, bearer("sk-plain"))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var text strings.Builder
		for _, ev := range responsesEvents(t, body) {
			if ev.Type == "response.output_text.delta" {
				text.WriteString(ev.Delta)
			}
		}
		if got, want := text.String(), "Reach me at [REDACTED:EMAIL]"; got != want || strings.Contains(body, "john") {
			t.Errorf("deltas = %q, want %q:\n%s", got, want, body)
		}
	})
	t.Run("guardrail block", func(t *testing.T) {
		up := sseUpstream(t, true, responsesStream([]string{"the code is bl", "uebird, ok"}))
		cfg := strings.Replace(guardConfig, "{name: split, guardrails: [pii]", "{name: split, guardrails: [pii, words]", 1)
		s := newStackYAML(t, map[string]string{"SPLIT": up.URL}, cfg)
		resp, body := s.post(t, "/v1/responses", req, bearer("sk-plain"))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		// The second delta (4) completes the match.
		if e := checkResponsesError(t, body, 4); e.Code != "guardrail_violation" || strings.Contains(body, "uebird") {
			t.Errorf("error event: %s\n%s", e.RawJSON(), body)
		}
	})
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
		path: "/v1/responses", model: "split", open: "split-open", named: true, lastSeq: 3,
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
				if e := checkResponsesError(t, body, tc.lastSeq); e.Code != "upstream_unreachable" {
					t.Errorf("error event: %s", e.RawJSON())
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
