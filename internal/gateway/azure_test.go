package gateway_test

import (
	"strings"
	"testing"
)

// An OpenAI client reaches an Azure OpenAI deployment: the target's model
// names the deployment in the path, the key goes in api-key with the
// provider's api-version, and the reply comes back as the mock's Azure
// route wrote it.
func TestAzureProvider(t *testing.T) {
	s := newStackYAML(t, nil, `
server:
  listen: 127.0.0.1:0
providers:
  - name: az
    kind: azure
    base_url: ${UPSTREAM}
    api_version: 2024-10-21
    api_keys: ["az-secret"]
models:
  - name: azure-gpt-4o-mini
    targets:
      - provider: az
        model: my-deployment
`)
	for _, stream := range []bool{false, true} {
		body := `{"model":"azure-gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
		if stream {
			body = `{"model":"azure-gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`
		}
		resp, got := s.post(t, "/v1/chat/completions", body, map[string]string{"Authorization": "Bearer client"})
		if resp.StatusCode != 200 {
			t.Fatalf("stream=%v: status %d: %s", stream, resp.StatusCode, got)
		}
		if stream && !strings.Contains(got, "data: [DONE]") {
			t.Errorf("stream did not end with [DONE]: %s", got)
		}
		if !stream && !strings.Contains(got, `"chat.completion"`) {
			t.Errorf("reply is not a chat completion: %s", got)
		}
		e := s.lastUpstream(t, "/openai/deployments/my-deployment/chat/completions")
		if q := e.Query; q != "api-version=2024-10-21" {
			t.Errorf("query %q, want api-version=2024-10-21", q)
		}
		if k := e.Headers["api-key"]; k != "az-secret" {
			t.Errorf("api-key %q, want the provider's", k)
		}
		if a := e.Headers["authorization"]; a != "" {
			t.Errorf("Authorization %q reached Azure", a)
		}
	}
}
