package provider

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/config"
)

func TestAzurePathsAndKey(t *testing.T) {
	up, err := NewUpstream(&config.Provider{Name: "az", Kind: config.KindAzure, BaseURL: "https://res.openai.azure.com",
		APIVersion: "2024-10-21", APIKeys: []config.APIKey{{Key: "azkey"}}})
	if err != nil {
		t.Fatal(err)
	}
	if up.Format() != FormatOpenAI || up.Kind() != config.KindAzure {
		t.Fatalf("format %v kind %s", up.Format(), up.Kind())
	}
	var client fasthttp.RequestHeader
	client.Set("Authorization", "Bearer sk-client")
	client.Set("X-Custom", "kept")
	for _, tc := range []struct {
		rest, query, model, want string
	}{
		{"/chat/completions", "", "my-gpt4o", "https://res.openai.azure.com/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21"},
		{"/embeddings", "x=1", "emb large", "https://res.openai.azure.com/openai/deployments/emb%20large/embeddings?api-version=2024-10-21"},
		{"/files", "", "", "https://res.openai.azure.com/openai/files?api-version=2024-10-21"},
		{"/chat/completions", "", "", "https://res.openai.azure.com/openai/chat/completions?api-version=2024-10-21"},
	} {
		var req fasthttp.Request
		up.PrepareModel(&req, []byte("POST"), []byte(tc.rest), []byte(tc.query), tc.model, &client)
		if got := req.URI().String(); got != tc.want {
			t.Errorf("%s %q: URI %s, want %s", tc.rest, tc.model, got, tc.want)
		}
		if got := string(req.Header.Peek("Api-Key")); got != "azkey" {
			t.Errorf("api-key %q, want azkey", got)
		}
		if got := req.Header.Peek("Authorization"); len(got) != 0 {
			t.Errorf("the client's Authorization reached Azure: %q", got)
		}
		if got := string(req.Header.Peek("X-Custom")); got != "kept" {
			t.Errorf("X-Custom %q, want kept", got)
		}
	}
}

// The paths of translated requests name the model as one escaped path
// segment: a pattern model forwards a name a client chose.
func TestOpPathEscapesModels(t *testing.T) {
	gem, err := NewUpstream(&config.Provider{Name: "g", Kind: config.KindGemini, BaseURL: "https://g.example"})
	if err != nil {
		t.Fatal(err)
	}
	br, err := NewUpstream(&config.Provider{Name: "b", Kind: config.KindBedrock, Region: "us-east-1",
		BaseURL: "https://b.example", AccessKeyID: "AKID", SecretAccessKey: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		up          *Upstream
		op          Operation
		model       string
		stream      bool
		n           int
		path, query string
	}{
		{gem, OpGenerate, "gemini-2.0-flash", false, 1, "/v1beta/models/gemini-2.0-flash:generateContent", ""},
		{gem, OpGenerate, "models/gemini-2.0-flash", true, 1, "/v1beta/models/gemini-2.0-flash:streamGenerateContent", "alt=sse"},
		{gem, OpGenerate, "x/../../admin", false, 1, "/v1beta/models/x%2F..%2F..%2Fadmin:generateContent", ""},
		{gem, OpEmbedContent, "text-embedding-004", false, 2, "/v1beta/models/text-embedding-004:batchEmbedContents", ""},
		{br, OpConverse, "anthropic.claude-3-5-haiku-20241022-v1:0", true, 1, "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream", ""},
		{br, OpConverse, "a/../b", false, 1, "/model/a%2F..%2Fb/converse", ""},
	} {
		p, q := tc.up.OpPath(nil, tc.op, tc.model, tc.stream, tc.n)
		if string(p) != tc.path || string(q) != tc.query {
			t.Errorf("%s %q: %s?%s, want %s?%s", tc.op, tc.model, p, q, tc.path, tc.query)
		}
	}
}
