package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// geminiConfig serves one Gemini model from a Gemini provider, and one
// OpenAI model, at the mock.
const geminiConfig = `
server:
  listen: 127.0.0.1:0
providers:
  - name: gemini
    kind: gemini
    base_url: ${UPSTREAM}
    api_keys: ["gem-secret"]
  - name: openai
    kind: openai
    base_url: ${UPSTREAM}/v1
    api_keys: ["sk-openai"]
models:
  - name: gemini-2.0-flash
    targets:
      - provider: gemini
        model: gemini-2.0-flash-001
  - name: gpt-4o-mini
    targets:
      - provider: openai
`

// A Gemini client reaches a Gemini provider in its own format: the model
// in the path is replaced by the target's, the key by the provider's, and
// the body passes untouched.
func TestGeminiSameFormat(t *testing.T) {
	s := newStackYAML(t, nil, geminiConfig)
	for _, tc := range []struct{ path, want string }{
		{"/v1beta/models/gemini-2.0-flash:generateContent", "/v1beta/models/gemini-2.0-flash-001:generateContent"},
		{"/v1/models/gemini-2.0-flash:generateContent", "/v1beta/models/gemini-2.0-flash-001:generateContent"},
		{"/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", "/v1beta/models/gemini-2.0-flash-001:streamGenerateContent"},
	} {
		body := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
		resp, got := s.post(t, tc.path, body, map[string]string{"x-goog-api-key": "client"})
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", tc.path, resp.StatusCode, got)
		}
		if !strings.Contains(got, `"candidates"`) {
			t.Errorf("%s: not a Gemini reply: %s", tc.path, got)
		}
		e := s.lastUpstream(t, tc.want)
		if e.Body != body {
			t.Errorf("%s: body changed on the way: %s", tc.path, e.Body)
		}
		if k := e.Headers["x-goog-api-key"]; k != "gem-secret" {
			t.Errorf("%s: upstream key %q, want the provider's", tc.path, k)
		}
		if strings.Contains(tc.want, "stream") && e.Query != "alt=sse" {
			t.Errorf("%s: query %q, want alt=sse", tc.path, e.Query)
		}
	}
	// An unknown action answers 404 in Gemini's format.
	resp, got := s.post(t, "/v1beta/models/gemini-2.0-flash:tuneModel", `{}`, nil)
	if resp.StatusCode != 404 || !strings.Contains(got, `"status"`) {
		t.Errorf("unknown action: %d %s", resp.StatusCode, got)
	}
}

// A Gemini client lists the gateway's models in Gemini's shape, and reads
// one, with its key as ?key= or in x-goog-api-key.
func TestGeminiModels(t *testing.T) {
	s := newStackYAML(t, nil, geminiConfig)
	for _, path := range []string{"/v1beta/models?key=k", "/v1beta/models/gpt-4o-mini?key=k"} {
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"models/`) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
	resp, err := http.Get(s.url + "/v1beta/models/nope")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), `"status"`) {
		t.Errorf("unknown model: %d %s", resp.StatusCode, b)
	}
}

// Embeddings cross formats too: an OpenAI client reaches a Gemini
// embedding model, and a Gemini client (one input and a batch) an OpenAI
// one.
func TestEmbeddingsAcrossFormats(t *testing.T) {
	s := newStackYAML(t, nil, geminiConfig+`
  - name: text-embedding-004
    targets:
      - provider: gemini
  - name: text-embedding-3-small
    targets:
      - provider: openai
`)
	resp, got := s.post(t, "/v1/embeddings", `{"model":"text-embedding-004","input":["a","b"]}`, nil)
	if resp.StatusCode != 200 || strings.Count(got, `"index":`) != 2 || !strings.Contains(got, `"object":"list"`) {
		t.Errorf("OpenAI client to Gemini: %d %.300s", resp.StatusCode, got)
	}
	s.lastUpstream(t, "/v1beta/models/text-embedding-004:batchEmbedContents")

	resp, got = s.post(t, "/v1beta/models/text-embedding-3-small:embedContent", `{"content":{"parts":[{"text":"a"}]}}`, nil)
	if resp.StatusCode != 200 || !strings.Contains(got, `"embedding"`) || !strings.Contains(got, `"values"`) {
		t.Errorf("Gemini client to OpenAI: %d %.300s", resp.StatusCode, got)
	}
	resp, got = s.post(t, "/v1beta/models/text-embedding-3-small:batchEmbedContents",
		`{"requests":[{"model":"models/text-embedding-3-small","content":{"parts":[{"text":"a"}]}},{"model":"models/text-embedding-3-small","content":{"parts":[{"text":"b"}]}}]}`, nil)
	if resp.StatusCode != 200 || !strings.Contains(got, `"embeddings"`) {
		t.Errorf("Gemini batch client to OpenAI: %d %.300s", resp.StatusCode, got)
	}
	// A batch of one keeps the batch's shape.
	resp, got = s.post(t, "/v1beta/models/text-embedding-3-small:batchEmbedContents",
		`{"requests":[{"model":"models/text-embedding-3-small","content":{"parts":[{"text":"a"}]}}]}`, nil)
	if resp.StatusCode != 200 || !strings.Contains(got, `"embeddings"`) {
		t.Errorf("Gemini batch of one to OpenAI: %d %.300s", resp.StatusCode, got)
	}
	s.lastUpstream(t, "/v1/embeddings")
}

// Input guardrails read a Gemini client's text: generateContent's contents
// and an embedding request's.
func TestGeminiInputGuardrails(t *testing.T) {
	s := newStackYAML(t, nil, `
server:
  listen: 127.0.0.1:0
guardrails:
  sets:
    - name: pii
      rules:
        - {name: ssn, kind: ssn, action: block, scope: input}
providers:
  - {name: gemini, kind: gemini, base_url: "${UPSTREAM}", api_keys: [k]}
models:
  - {name: gemini-2.0-flash, guardrails: [pii], targets: [{provider: gemini}]}
  - {name: text-embedding-004, guardrails: [pii], targets: [{provider: gemini}]}
`)
	for _, tc := range []struct{ path, body string }{
		{"/v1beta/models/gemini-2.0-flash:generateContent", `{"contents":[{"role":"user","parts":[{"text":"my ssn is 078-05-1120"}]}]}`},
		{"/v1beta/models/text-embedding-004:embedContent", `{"content":{"parts":[{"text":"my ssn is 078-05-1120"}]}}`},
		{"/v1beta/models/text-embedding-004:batchEmbedContents", `{"requests":[{"content":{"parts":[{"text":"ok"}]}},{"content":{"parts":[{"text":"my ssn is 078-05-1120"}]}}]}`},
	} {
		resp, got := s.post(t, tc.path, tc.body, nil)
		if resp.StatusCode != 400 || !strings.Contains(got, "ssn") {
			t.Errorf("%s: %d %s, want 400 naming the rule", tc.path, resp.StatusCode, got)
		}
	}
}

// A Gemini batch for a model whose target has another name reaches the
// upstream with that name in every request of the batch, not the client's.
func TestGeminiBatchAlias(t *testing.T) {
	s := newStackYAML(t, nil, `
server:
  listen: 127.0.0.1:0
providers:
  - {name: gemini, kind: gemini, base_url: "${UPSTREAM}", api_keys: [k]}
models:
  - {name: my-embed, targets: [{provider: gemini, model: text-embedding-004}]}
`)
	resp, got := s.post(t, "/v1beta/models/my-embed:batchEmbedContents",
		`{"requests":[{"model":"models/my-embed","content":{"parts":[{"text":"a"}]}},{"model":"models/my-embed","content":{"parts":[{"text":"b"}]}}]}`, nil)
	if resp.StatusCode != 200 || !strings.Contains(got, `"embeddings"`) {
		t.Fatalf("%d %s", resp.StatusCode, got)
	}
	e := s.lastUpstream(t, "/v1beta/models/text-embedding-004:batchEmbedContents")
	if strings.Contains(e.Body, "my-embed") || strings.Count(e.Body, "models/text-embedding-004") != 2 {
		t.Errorf("upstream body names the client's model: %s", e.Body)
	}
}
