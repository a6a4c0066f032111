package mock

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// TestFixedRoutesSteering: count_tokens and the Gemini embeddings wait TTFT once and
// honour forced statuses and malformed replies, as /v1/embeddings does.
func TestFixedRoutesSteering(t *testing.T) {
	for _, tc := range []struct{ path, body string }{
		{"/v1/messages/count_tokens", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`},
		{"/v1beta/models/text-embedding-004:embedContent", `{"content":{"parts":[{"text":"a"}]}}`},
		{"/v1beta/models/gemini-embedding-001:batchEmbedContents", `{"requests":[{"content":{"parts":[{"text":"a"}]}}]}`},
		{"/v1/embeddings", `{"model":"m","input":"a"}`},
	} {
		clk := newFakeClock()
		_, base := startMock(t, Options{}, clk)
		resp, body := do(t, "POST", base+tc.path, map[string]string{"X-Mock-TTFT": "300", "X-Mock-ITL": "50", "X-Mock-Status": "201"}, tc.body)
		if sleeps := clk.recorded(); resp.StatusCode != 201 || !json.Valid([]byte(body)) || len(sleeps) != 1 || sleeps[0] != 300*time.Millisecond {
			t.Errorf("%s: %d, sleeps %v: %s", tc.path, resp.StatusCode, sleeps, body)
		}
		resp, body = do(t, "POST", base+tc.path, map[string]string{"X-Mock-Malformed-Rate": "100"}, tc.body)
		if resp.StatusCode != 200 || json.Valid([]byte(body)) || body == "" {
			t.Errorf("%s malformed: %d %s", tc.path, resp.StatusCode, body)
		}
	}
	// gemini-embedding models default to 3072 values, others to 768.
	_, base := startMock(t, Options{}, nil)
	for model, want := range map[string]int64{"gemini-embedding-001": 3072, "text-embedding-004": 768} {
		_, body := do(t, "POST", base+"/v1beta/models/"+model+":embedContent", nil, `{"content":{"parts":[{"text":"a"}]}}`)
		if n := gjson.Get(body, "embedding.values.#").Int(); n != want {
			t.Errorf("%s: %d values, want %d", model, n, want)
		}
	}
}
