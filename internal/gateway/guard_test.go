package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// guardConfig is authConfig's upstreams with the L2 rules: ssn and
// credit_card block input, email redacts input and output, and a set a key
// may override.
const guardConfig = `
server: {listen: 127.0.0.1:0}
log: {level: debug}
data_dir: ${DATA_DIR}
auth:
  enabled: true
  keys:
    - {key: sk-plain, id: plain}
    - {key: sk-lax, id: lax, guardrails: [lax]}
    - {key: sk-lenient, id: lenient, guardrails: [lenient]}
guardrails:
  scan_limit: ${SCAN_LIMIT:-1MiB}
  sets:
    - name: pii
      rules:
        - {name: ssn, kind: ssn, action: block, scope: input}
        - {name: credit_card, kind: credit_card, action: block, scope: input}
        - {name: email, kind: email, action: redact, scope: both}
    - name: words
      overridable: true
      rules:
        - {name: codename, kind: keywords, words: [bluebird, "night owl"], action: block}
    - name: lenient
      rules:
        - {name: ssn, kind: ssn, action: flag}
    - name: lax
      rules:
        - {name: ticket, kind: regex, pattern: 'TICK-[0-9]{4}', max_len: 9, action: flag, scope: input}
providers:
  - {name: openai, kind: openai, base_url: "${UPSTREAM}/v1", api_keys: [sk-provider-openai]}
  - {name: anthropic, kind: anthropic, base_url: "${UPSTREAM}/v1", api_keys: [sk-provider-anthropic]}
  - {name: split, kind: openai, base_url: "${SPLIT:-http://127.0.0.1:1}/v1"}
  - {name: split-anthropic, kind: anthropic, base_url: "${SPLIT:-http://127.0.0.1:1}/v1"}
models:
  - {name: gpt-4o-mini, guardrails: [pii, words], targets: [{provider: openai}]}
  - {name: claude-3-5-haiku, guardrails: [pii, words], targets: [{provider: anthropic}]}
  - {name: open, targets: [{provider: openai}]}
  - {name: split, guardrails: [pii], targets: [{provider: split}]}
  - {name: split-anthropic, guardrails: [pii], targets: [{provider: split-anthropic}]}
  - {name: split-open, targets: [{provider: split}]}
`

func userMsg(model, text string) string {
	b, _ := json.Marshal(text)
	return `{"model":"` + model + `","max_tokens":50,"messages":[{"role":"user","content":` + string(b) + `}]}`
}

func TestGuardrailsInput(t *testing.T) {
	s := newStackYAML(t, nil, guardConfig)
	key := bearer("sk-plain")

	t.Run("block names the rule, never the match", func(t *testing.T) {
		before := len(s.mock.Journal())
		resp, body := s.post(t, "/v1/chat/completions", userMsg("gpt-4o-mini", "my ssn is 123-45-6789, thanks"), key)
		if resp.StatusCode != 400 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var e openAIError
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Fatal(err)
		}
		if e.Error.Code != "guardrail_violation" || !strings.Contains(e.Error.Message, `"ssn"`) || strings.Contains(body, "6789") {
			t.Errorf("error = %s", body)
		}
		if len(s.mock.Journal()) != before {
			t.Error("a blocked request reached the upstream")
		}
	})
	t.Run("anthropic route, content blocks and system", func(t *testing.T) {
		body := `{"model":"claude-3-5-haiku","max_tokens":20,"system":[{"type":"text","text":"card 4111 1111 1111 1111"}],"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`
		resp, got := s.post(t, "/v1/messages", body, map[string]string{"x-api-key": "sk-plain"})
		if resp.StatusCode != 400 || !strings.Contains(got, `"type":"invalid_request_error"`) || !strings.Contains(got, "credit_card") || strings.Contains(got, "1111") {
			t.Errorf("status %d: %s", resp.StatusCode, got)
		}
	})
	t.Run("redact before upstream", func(t *testing.T) {
		resp, body := s.post(t, "/v1/chat/completions", userMsg("gpt-4o-mini", "write to jane.doe@example.com today"), key)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		up := s.lastUpstream(t, "/v1/chat/completions")
		if strings.Contains(up.Body, "jane.doe") || !strings.Contains(up.Body, "write to [REDACTED:EMAIL] today") {
			t.Errorf("upstream got %s", up.Body)
		}
		if !strings.Contains(up.Body, `"model":"gpt-4o-mini"`) {
			t.Errorf("model not rewritten after redaction: %s", up.Body)
		}
	})
	t.Run("tool call arguments and tool results", func(t *testing.T) {
		body := `{"model":"gpt-4o-mini","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"to\":\"bob@corp.io\"}"}}]},{"role":"tool","tool_call_id":"c1","content":"sent to bob@corp.io"}]}`
		resp, got := s.post(t, "/v1/chat/completions", body, key)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, got)
		}
		up := s.lastUpstream(t, "/v1/chat/completions")
		if strings.Contains(up.Body, "bob@corp.io") || strings.Count(up.Body, "[REDACTED:EMAIL]") != 2 {
			t.Errorf("upstream got %s", up.Body)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(up.Body), &v); err != nil {
			t.Errorf("redacted body is not JSON: %v", err)
		}
	})
	t.Run("embeddings input", func(t *testing.T) {
		resp, got := s.post(t, "/v1/embeddings", `{"model":"gpt-4o-mini","input":["fine","ssn 123-45-6789"]}`, key)
		if resp.StatusCode != 400 || !strings.Contains(got, "guardrail_violation") {
			t.Errorf("status %d: %s", resp.StatusCode, got)
		}
	})
	t.Run("a model without sets is not checked", func(t *testing.T) {
		resp, got := s.post(t, "/v1/chat/completions", userMsg("open", "ssn 123-45-6789"), key)
		if resp.StatusCode != 200 {
			t.Errorf("status %d: %s", resp.StatusCode, got)
		}
	})
	t.Run("keys replace only overridable sets", func(t *testing.T) {
		// The lax key drops the overridable keyword set...
		resp, got := s.post(t, "/v1/chat/completions", userMsg("gpt-4o-mini", "project bluebird TICK-1234"), bearer("sk-lax"))
		if resp.StatusCode != 200 {
			t.Errorf("lax key: status %d: %s", resp.StatusCode, got)
		}
		// ...which still applies to other keys...
		resp, got = s.post(t, "/v1/chat/completions", userMsg("gpt-4o-mini", "project BlueBird"), key)
		if resp.StatusCode != 400 || !strings.Contains(got, "codename") {
			t.Errorf("plain key: status %d: %s", resp.StatusCode, got)
		}
		// ...but cannot drop pii, which is not overridable.
		resp, got = s.post(t, "/v1/chat/completions", userMsg("gpt-4o-mini", "ssn 123-45-6789"), bearer("sk-lax"))
		if resp.StatusCode != 400 || !strings.Contains(got, "ssn") {
			t.Errorf("lax key with an ssn: status %d: %s", resp.StatusCode, got)
		}
	})
	t.Run("a key's rule of the same name cannot weaken a mandatory one", func(t *testing.T) {
		resp, got := s.post(t, "/v1/chat/completions", userMsg("gpt-4o-mini", "ssn 123-45-6789"), bearer("sk-lenient"))
		if resp.StatusCode != 400 || !strings.Contains(got, "ssn") {
			t.Errorf("status %d: %s", resp.StatusCode, got)
		}
	})
	t.Run("provider/model names get the provider's models' sets", func(t *testing.T) {
		resp, got := s.post(t, "/v1/chat/completions", userMsg("openai/gpt-4o-mini", "ssn 123-45-6789"), key)
		if resp.StatusCode != 400 || !strings.Contains(got, "guardrail_violation") {
			t.Errorf("status %d: %s", resp.StatusCode, got)
		}
	})
	t.Run("passthrough paths with stored model text are refused", func(t *testing.T) {
		for _, p := range []string{"/v1/responses/resp_123", "/v1/chat/completions/chatcmpl-1", "/v1/messages/batches"} {
			req, _ := http.NewRequest("GET", s.url+p, nil)
			req.Header.Set("Authorization", "Bearer sk-plain")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Errorf("GET %s: status %d, want 400", p, resp.StatusCode)
			}
		}
	})
	if v := scrape(t, s, `sluice_guardrail_verdicts_total{action="block",rule="ssn",scope="input"}`); v < 3 {
		t.Errorf("ssn block verdicts = %v, want >= 3", v)
	}
	if v := scrape(t, s, `sluice_guardrail_verdicts_total{action="flag",rule="ticket",scope="input"}`); v != 1 {
		t.Errorf("ticket flag verdicts = %v, want 1", v)
	}
}

func TestGuardrailsScanLimit(t *testing.T) {
	s := newStackYAML(t, map[string]string{"SCAN_LIMIT": "1KiB"}, guardConfig)
	resp, body := s.post(t, "/v1/chat/completions", userMsg("gpt-4o-mini", strings.Repeat("long text ", 200)), bearer("sk-plain"))
	if resp.StatusCode != 413 || !strings.Contains(body, "request_too_large") {
		t.Errorf("status %d: %s", resp.StatusCode, body)
	}
}

// splitUpstream serves a fixed stream whose text carries an email split
// across events, in OpenAI chunks or Anthropic events, and a non-stream
// reply with the same text.
func splitUpstream(t *testing.T, pieces []string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Stream bool `json:"stream"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		anth := strings.HasSuffix(r.URL.Path, "/messages")
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			text, _ := json.Marshal(strings.Join(pieces, ""))
			if anth {
				fmt.Fprintf(w, `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":%s}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":5}}`, text)
			} else {
				fmt.Fprintf(w, `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}`, text)
			}
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		if anth {
			fmt.Fprint(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}}\n\n")
			fmt.Fprint(w, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
			for _, p := range pieces {
				b, _ := json.Marshal(p)
				fmt.Fprintf(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":%s}}\n\n", b)
				f.Flush()
			}
			fmt.Fprint(w, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
			fmt.Fprint(w, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":5}}\n\n")
			fmt.Fprint(w, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
			return
		}
		fmt.Fprint(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n")
		for _, p := range pieces {
			b, _ := json.Marshal(p)
			fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%s},\"finish_reason\":null}]}\n\n", b)
			f.Flush()
		}
		fmt.Fprint(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
		fmt.Fprint(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":5,\"total_tokens\":8}}\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// streamText concatenates the text deltas of an SSE body (OpenAI chunks or
// Anthropic text_delta events) and reports whether an error event came.
func streamText(t *testing.T, body string) (text string, errEvent bool) {
	t.Helper()
	var sb strings.Builder
	for _, line := range strings.Split(body, "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ev struct {
			Type    string          `json:"type"`
			Error   json.RawMessage `json:"error"`
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Delta struct {
				Text string `json:"text"`
			} `json:"delta"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("bad event %q: %v", data, err)
		}
		if ev.Error != nil {
			errEvent = true
		}
		for _, c := range ev.Choices {
			sb.WriteString(c.Delta.Content)
		}
		sb.WriteString(ev.Delta.Text)
	}
	return sb.String(), errEvent
}

func TestGuardrailsStreamOutput(t *testing.T) {
	pieces := []string{"Reach me at jo", "hn.sm", "ith@exam", "ple.org or", " call later."}
	up := splitUpstream(t, pieces)
	s := newStackYAML(t, map[string]string{"SPLIT": up.URL}, guardConfig)
	want := "Reach me at [REDACTED:EMAIL] or call later."
	for _, tc := range []struct{ path, model, body string }{
		{"/v1/chat/completions", "split", `{"model":"split","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/messages", "split-anthropic", `{"model":"split-anthropic","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		// Translated: the guardrails read the caller's events, which the
		// codecs wrote from the upstream's.
		{"/v1/chat/completions", "split-anthropic", `{"model":"split-anthropic","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/messages", "split", `{"model":"split","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"hi"}]}`},
	} {
		t.Run(tc.path+"/"+tc.model, func(t *testing.T) {
			resp, body := s.post(t, tc.path, tc.body, bearer("sk-plain"))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			got, errEv := streamText(t, body)
			if got != want || errEv {
				t.Errorf("stream text = %q (error event %v), want %q\n%s", got, errEv, want, body)
			}
			for _, frag := range []string{"john", "hn.sm", "ith@", "example.org", "@exam"} {
				if strings.Contains(body, frag) {
					t.Errorf("fragment %q of the email leaked:\n%s", frag, body)
				}
			}
			// The non-stream reply is redacted the same way.
			nb := strings.Replace(tc.body, `"stream":true`, `"stream":false`, 1)
			resp, body = s.post(t, tc.path, nb, bearer("sk-plain"))
			if resp.StatusCode != 200 || !strings.Contains(body, want) || strings.Contains(body, "john") {
				t.Errorf("non-stream: status %d: %s", resp.StatusCode, body)
			}
		})
	}
}

func TestGuardrailsStreamBlock(t *testing.T) {
	// An output block rule: the stream ends with an error event before any
	// byte of the match.
	up := splitUpstream(t, []string{"the code is bl", "uebi", "rd, ok"})
	cfg := strings.Replace(guardConfig, "{name: split, guardrails: [pii]", "{name: split, guardrails: [pii, words]", 1)
	s := newStackYAML(t, map[string]string{"SPLIT": up.URL}, cfg)
	resp, body := s.post(t, "/v1/chat/completions", `{"model":"split","stream":true,"messages":[{"role":"user","content":"hi"}]}`, bearer("sk-plain"))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got, errEv := streamText(t, body)
	if !errEv || !strings.Contains(body, "guardrail_violation") || strings.Contains(got, "bl") || strings.Contains(body, "uebi") {
		t.Errorf("text %q, error event %v:\n%s", got, errEv, body)
	}
	if !strings.HasPrefix("the code is ", got) {
		t.Errorf("text before the match = %q, want a prefix of %q", got, "the code is ")
	}
}

func TestGuardrailsUnreadableReply(t *testing.T) {
	// A 200 reply that is not JSON cannot be checked: 502, not passed on.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>proxy says hi jane@example.com</html>")
	}))
	t.Cleanup(up.Close)
	s := newStackYAML(t, map[string]string{"SPLIT": up.URL}, guardConfig)
	resp, body := s.post(t, "/v1/chat/completions", `{"model":"split","messages":[{"role":"user","content":"hi"}]}`, bearer("sk-plain"))
	if resp.StatusCode != 502 || !strings.Contains(body, "upstream_unreachable") || strings.Contains(body, "jane") {
		t.Errorf("status %d: %s", resp.StatusCode, body)
	}
}

func TestGuardrailsStreamCutWithHeldMatch(t *testing.T) {
	// The upstream ends the stream (no finish_reason, no [DONE]) while the
	// match is still held back: the end of the reply is scanned, the match
	// is never sent, and the stream ends with the guardrail's error event.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"the code is bluebird\"},\"finish_reason\":null}]}\n\n")
	}))
	t.Cleanup(up.Close)
	cfg := strings.Replace(guardConfig, "{name: split, guardrails: [pii]", "{name: split, guardrails: [pii, words]", 1)
	s := newStackYAML(t, map[string]string{"SPLIT": up.URL}, cfg)
	resp, body := s.post(t, "/v1/chat/completions", `{"model":"split","stream":true,"messages":[{"role":"user","content":"hi"}]}`, bearer("sk-plain"))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got, errEv := streamText(t, body)
	if !errEv || !strings.Contains(body, "guardrail_violation") || strings.Contains(body, "bluebird") || strings.Contains(got, "blue") {
		t.Errorf("text %q, error event %v:\n%s", got, errEv, body)
	}
}

func TestStreamLastEventWithoutBlankLine(t *testing.T) {
	// An upstream that ends with "data: [DONE]\n" (no blank line): the
	// event is relayed once, completed, with and without output guardrails.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hello\"},\"finish_reason\":null}]}\n\n")
		fmt.Fprint(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
		fmt.Fprint(w, "data: [DONE]\n")
	}))
	t.Cleanup(up.Close)
	s := newStackYAML(t, map[string]string{"SPLIT": up.URL}, guardConfig)
	for _, model := range []string{"split", "split-open"} {
		resp, body := s.post(t, "/v1/chat/completions", `{"model":"`+model+`","stream":true,"messages":[{"role":"user","content":"hi"}]}`, bearer("sk-plain"))
		if resp.StatusCode != 200 || strings.Count(body, "data: [DONE]") != 1 || !strings.HasSuffix(body, "data: [DONE]\n\n") {
			t.Errorf("%s: status %d:\n%q", model, resp.StatusCode, body)
		}
		if got, errEv := streamText(t, body); got != "hello" || errEv {
			t.Errorf("%s: text %q, error event %v", model, got, errEv)
		}
	}
}

// TestGuardrailsToolsAndNames: tool descriptions and chat message names
// are text the model reads; they are checked on every format (issue #15).
func TestGuardrailsToolsAndNames(t *testing.T) {
	s := newStackYAML(t, nil, guardConfig)
	openai := bearer("sk-plain")
	anthropic := map[string]string{"x-api-key": "sk-plain", "anthropic-version": "2023-06-01"}
	blocked := []struct{ name, path, body string }{
		{"chat tool description", "/v1/chat/completions",
			`{"model":"gpt-4o-mini","tools":[{"type":"function","function":{"name":"f","description":"ssn 123-45-6789"}}],"messages":[{"role":"user","content":"hi"}]}`},
		{"responses tool description", "/v1/responses",
			`{"model":"gpt-4o-mini","input":"hi","tools":[{"type":"function","name":"f","description":"ssn 123-45-6789","parameters":{}}]}`},
		{"messages tool description", "/v1/messages",
			`{"model":"claude-3-5-haiku","max_tokens":5,"tools":[{"name":"f","description":"ssn 123-45-6789","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"hi"}]}`},
	}
	for _, tt := range blocked {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.mock.Journal())
			h := openai
			if tt.path == "/v1/messages" {
				h = anthropic
			}
			resp, body := s.post(t, tt.path, tt.body, h)
			if resp.StatusCode != 400 || !strings.Contains(body, `rule \"ssn\"`) || strings.Contains(body, "6789") {
				t.Errorf("status %d: %s", resp.StatusCode, body)
			}
			if len(s.mock.Journal()) != before {
				t.Error("a blocked request reached the upstream")
			}
		})
	}
	t.Run("chat message name redacted", func(t *testing.T) {
		resp, body := s.post(t, "/v1/chat/completions",
			`{"model":"gpt-4o-mini","messages":[{"role":"user","name":"jane.doe@example.com","content":"hi"}]}`, openai)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		up := s.lastUpstream(t, "/v1/chat/completions")
		if strings.Contains(up.Body, "jane.doe") || !strings.Contains(up.Body, `"name":"[REDACTED:EMAIL]"`) {
			t.Errorf("upstream got %s", up.Body)
		}
	})
}
