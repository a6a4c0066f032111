package gateway_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	anthropicOK = `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"hello"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}`
	openaiOK    = `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`
)

// postRaw posts without the transport's transparent decompression, so the
// test sees the headers as sent.
func postRaw(t *testing.T, s *stack, path, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// A reply served after a failed attempt carries none of the failed
// upstream's headers (its Retry-After, rate-limit state or request id).
func TestNoHeadersFromAFailedAttempt(t *testing.T) {
	anth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "0")
		w.Header().Set("Request-Id", "req_FAILED")
		w.Header().Set("Anthropic-Ratelimit-Requests-Remaining", "0")
		w.WriteHeader(429)
		fmt.Fprint(w, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`)
	}))
	t.Cleanup(anth.Close)
	oai := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Ratelimit-Remaining-Requests", "99")
		fmt.Fprint(w, openaiOK)
	}))
	t.Cleanup(oai.Close)
	s := newStackYAML(t, map[string]string{"ANTH": anth.URL, "OAI": oai.URL}, `
server: {listen: 127.0.0.1:0}
providers:
  - {name: anth, kind: anthropic, base_url: "${ANTH}/v1"}
  - {name: oai, kind: openai, base_url: "${OAI}/v1"}
models:
  - {name: m, retry: {attempts: 0}, targets: [{provider: anth}], fallbacks: [m2]}
  - {name: m2, targets: [{provider: oai}]}
`)
	resp, body := postRaw(t, s, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if v := resp.Header.Values("X-Ratelimit-Remaining-Requests"); len(v) != 1 || v[0] != "99" {
		t.Errorf("x-ratelimit-remaining-requests %v, want the serving upstream's alone", v)
	}
	for _, h := range []string{"Retry-After", "Anthropic-Ratelimit-Requests-Remaining"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("%s: %q from the failed attempt", h, v)
		}
	}
	if v := resp.Header.Get("X-Upstream-Request-Id"); v == "req_FAILED" {
		t.Errorf("x-upstream-request-id names the upstream that failed")
	}
}

// An upstream that compresses its reply unasked is read and re-encoded;
// the client's body carries no Content-Encoding it is not in.
func TestTranslatedCompressedReply(t *testing.T) {
	for _, status := range []int{200, 400} {
		anth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			if status == 200 {
				io.WriteString(zw, anthropicOK)
			} else {
				io.WriteString(zw, `{"type":"error","error":{"type":"invalid_request_error","message":"bad thing"}}`)
			}
			zw.Close()
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.WriteHeader(status)
			w.Write(buf.Bytes())
		}))
		s := newStackYAML(t, map[string]string{"ANTH": anth.URL}, `
server: {listen: 127.0.0.1:0}
providers:
  - {name: anth, kind: anthropic, base_url: "${ANTH}/v1"}
models:
  - {name: m, retry: {attempts: 0}, targets: [{provider: anth}]}
`)
		resp, body := postRaw(t, s, "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode != status || resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("upstream %d: client %d, Content-Encoding %q: %s", status, resp.StatusCode, resp.Header.Get("Content-Encoding"), body)
		}
		want := "hello"
		if status != 200 {
			want = "bad thing"
		}
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("upstream %d: body %s does not carry %q", status, body, want)
		}
		anth.Close()
	}
}

// An upstream's error, once kept, answers over a later target's refusal of
// a request its format cannot carry.
func TestKeptFailureOverLaterRefusal(t *testing.T) {
	oai := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(503)
		fmt.Fprint(w, `{"error":{"message":"overloaded upstream","type":"server_error","code":null}}`)
	}))
	t.Cleanup(oai.Close)
	s := newStackYAML(t, map[string]string{"OAI": oai.URL}, `
server: {listen: 127.0.0.1:0}
providers:
  - {name: anth, kind: anthropic, base_url: "http://127.0.0.1:1/v1"}
  - {name: oai, kind: openai, base_url: "${OAI}/v1"}
models:
  - {name: m, retry: {attempts: 0}, targets: [{provider: oai}], fallbacks: [m2]}
  - {name: m2, targets: [{provider: anth}]}
`)
	resp, body := postRaw(t, s, "/v1/chat/completions", `{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 503 || !bytes.Contains(body, []byte("overloaded upstream")) {
		t.Errorf("status %d %s, want the upstream's 503", resp.StatusCode, body)
	}
}

// A pattern whose target names its model bills that model, whatever name
// the client asked for.
func TestPatternBillsTheUpstreamModel(t *testing.T) {
	s := newStackYAML(t, nil, `
server: {listen: 127.0.0.1:0}
auth:
  enabled: true
  keys:
    - {key: sk-a, id: a, budget_usd: 1000, budget_period: day}
    - {key: sk-b, id: b, budget_usd: 1000, budget_period: day}
data_dir: ${DATA_DIR}
pricing:
  gpt-4o-mini: {input: 0.15, output: 0.60}
  gpt-4o: {input: 2.50, output: 10.00}
providers:
  - {name: openai, kind: openai, base_url: "${UPSTREAM}/v1"}
models:
  - {name: "gpt-*", targets: [{provider: openai, model: gpt-4o}]}
`)
	spend := map[string]float64{}
	for _, k := range []struct{ key, model string }{{"sk-a", "gpt-4o"}, {"sk-b", "gpt-4o-mini"}} {
		resp, body := s.post(t, "/v1/chat/completions", `{"model":"`+k.model+`","messages":[{"role":"user","content":"hi"}]}`, bearer(k.key))
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		var kv struct {
			SpendUSD float64 `json:"spend_usd"`
		}
		deadline := time.Now().Add(3 * time.Second)
		for kv.SpendUSD == 0 && time.Now().Before(deadline) {
			_, kb := getPath(t, s, "/v1/key", bearer(k.key))
			_ = json.Unmarshal([]byte(kb), &kv)
			if kv.SpendUSD == 0 {
				time.Sleep(20 * time.Millisecond)
			}
		}
		spend[k.model] = kv.SpendUSD
	}
	if spend["gpt-4o"] == 0 || spend["gpt-4o-mini"] != spend["gpt-4o"] {
		t.Errorf("spend %v: both requests ran gpt-4o and must cost the same", spend)
	}
}
