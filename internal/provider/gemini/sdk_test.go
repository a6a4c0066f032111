package gemini

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
	"google.golang.org/genai"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// sdkServer serves Google's Go SDK with this package's encoders and keeps
// the requests it decoded: a real client parses what the encoders write,
// and the decoders read what a real client sends.
type sdkServer struct {
	t     *testing.T
	reply canon.Reply
	evs   []canon.Event
	fail  bool // answer every request with an error

	mu    sync.Mutex
	reqs  []canon.Request
	embed canon.EmbedRequest
	paths []string
	keys  []string
}

func (s *sdkServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paths = append(s.paths, req.URL.RequestURI())
	s.keys = append(s.keys, req.Header.Get("x-goog-api-key"))
	model, action, ok := ParsePath([]byte(req.URL.Path))
	if !ok || string(model) == "" {
		s.t.Errorf("ParsePath(%q) failed", req.URL.Path)
	}
	if s.fail {
		w.WriteHeader(429)
		_, _ = w.Write(appendError(nil, wire.Error{Status: 429, Code: wire.CodeRateLimitExceeded, Msg: "slow down"}))
		return
	}
	switch action {
	case ActionEmbed, ActionBatchEmbed:
		if err := decodeEmbedRequest(body, &s.embed); err != nil {
			s.t.Errorf("decode the SDK's embedding request: %v\n%s", err, body)
		}
		vecs := make([][]float32, len(s.embed.Inputs))
		for i := range vecs {
			vecs[i] = []float32{float32(i), 0.5, -0.25}
		}
		_, _ = w.Write(EncodeEmbedReply(nil, &canon.EmbedReply{Vectors: vecs}, action == ActionBatchEmbed))
		return
	}
	var r canon.Request
	if err := decodeRequest(body, &r); err != nil {
		s.t.Errorf("decode the SDK's request: %v\n%s", err, body)
	}
	s.reqs = append(s.reqs, r)
	if action == ActionStreamGenerate {
		if req.URL.Query().Get("alt") != "sse" {
			s.t.Errorf("stream without alt=sse: %s", req.URL)
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(encodeStream(s.evs))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(encodeReply(nil, &s.reply, &r))
}

func newSDK(t *testing.T, s *sdkServer) *genai.Client {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{APIKey: "test-key", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL, APIVersion: "v1beta"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var sdkReply = canon.Reply{ID: "resp-1", Model: "gemini-2.5-flash",
	Parts: []canon.Part{
		{Kind: canon.PartThinking, Text: "Two calls.", Signature: "c2ln"},
		{Kind: canon.PartText, Text: "Checking."},
		{Kind: canon.PartToolCall, ID: "call_9", Name: "get_weather", Args: `{"city":"Paris"}`},
	},
	Stop:  canon.Stop{Reason: canon.StopTool},
	Usage: canon.Usage{Input: 100, Output: 70, CacheRead: 40, Valid: true, Reasoning: 50},
}

func TestSDKGenerateContent(t *testing.T) {
	s := &sdkServer{t: t, reply: sdkReply}
	c := newSDK(t, s)
	budget := int32(1024)
	temp := float32(0.5)
	contents := []*genai.Content{
		genai.NewContentFromText("Weather in Paris?", genai.RoleUser),
		{Role: genai.RoleModel, Parts: []*genai.Part{{FunctionCall: &genai.FunctionCall{Name: "get_weather", Args: map[string]any{"city": "Paris"}},
			ThoughtSignature: []byte("sig")}}},
		{Role: genai.RoleUser, Parts: []*genai.Part{genai.NewPartFromFunctionResponse("get_weather", map[string]any{"output": "sunny"}),
			genai.NewPartFromBytes([]byte{0x89, 'P', 'N', 'G'}, "image/png")}},
	}
	cfg := &genai.GenerateContentConfig{
		SystemInstruction: genai.NewContentFromText("Be brief.", genai.RoleUser),
		Temperature:       &temp,
		MaxOutputTokens:   200,
		StopSequences:     []string{"STOP!"},
		ThinkingConfig:    &genai.ThinkingConfig{ThinkingBudget: &budget, IncludeThoughts: true},
		Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{Name: "get_weather", Description: "Weather",
			Parameters: &genai.Schema{Type: genai.TypeObject, Properties: map[string]*genai.Schema{"city": {Type: genai.TypeString}}, Required: []string{"city"}}}}}},
		ToolConfig:     &genai.ToolConfig{FunctionCallingConfig: &genai.FunctionCallingConfig{Mode: genai.FunctionCallingConfigModeAny, AllowedFunctionNames: []string{"get_weather"}}},
		SafetySettings: []*genai.SafetySetting{{Category: genai.HarmCategoryHarassment, Threshold: genai.HarmBlockThresholdBlockNone}},
	}
	resp, err := c.Models.GenerateContent(context.Background(), "gemini-2.5-flash", contents, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The reply, as the SDK reads it.
	if got := resp.Text(); got != "Checking." {
		t.Errorf("Text() = %q", got)
	}
	calls := resp.FunctionCalls()
	if len(calls) != 1 || calls[0].Name != "get_weather" || calls[0].ID != "call_9" || calls[0].Args["city"] != "Paris" {
		t.Errorf("FunctionCalls() = %+v", calls)
	}
	parts := resp.Candidates[0].Content.Parts
	if len(parts) != 3 || !parts[0].Thought || string(parts[0].ThoughtSignature) != "sig" {
		t.Errorf("parts: %+v", parts)
	}
	if fr := resp.Candidates[0].FinishReason; fr != genai.FinishReasonStop {
		t.Errorf("finish reason %q", fr)
	}
	u := resp.UsageMetadata
	if u.PromptTokenCount != 100 || u.CandidatesTokenCount != 20 || u.ThoughtsTokenCount != 50 || u.CachedContentTokenCount != 40 || u.TotalTokenCount != 170 {
		t.Errorf("usage %+v", u)
	}
	if resp.ResponseID != "resp-1" || resp.ModelVersion != "gemini-2.5-flash" {
		t.Errorf("id %q, model %q", resp.ResponseID, resp.ModelVersion)
	}
	// The request, as the decoder read it.
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) != 1 {
		t.Fatalf("%d requests", len(s.reqs))
	}
	r := &s.reqs[0]
	if canon.Text(r.System) != "Be brief." || r.MaxTokens != 200 || string(r.Temperature) != "0.5" || len(r.Stop) != 1 {
		t.Errorf("settings: system %q, max %d, temperature %s, stop %q", canon.Text(r.System), r.MaxTokens, r.Temperature, r.Stop)
	}
	if r.Reasoning.Budget != 1024 || r.Reasoning.Summary != "auto" {
		t.Errorf("reasoning %+v", r.Reasoning)
	}
	if len(r.Tools) != 1 || compactJSON(r.Tools[0].Schema) != `{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}` {
		t.Errorf("tools %+v", r.Tools)
	}
	if r.ToolChoice != (canon.ToolChoice{Mode: canon.ToolNamed, Name: "get_weather", Set: true}) {
		t.Errorf("tool choice %+v", r.ToolChoice)
	}
	if len(r.Messages) != 3 {
		t.Fatalf("messages %+v", r.Messages)
	}
	call, res := r.Messages[1].Parts, r.Messages[2].Parts
	if len(call) != 2 || call[0].Kind != canon.PartThinking || call[0].Signature != "c2ln" || call[1].ID != "call_0" {
		t.Errorf("model turn %+v", call)
	}
	if len(res) != 2 || res[0].ID != "call_0" || canon.Text(res[0].Content) != "sunny" || res[1].Kind != canon.PartImage || res[1].Data != "iVBORw==" {
		t.Errorf("user turn %+v", res)
	}
	if s.paths[0] != "/v1beta/models/gemini-2.5-flash:generateContent" || s.keys[0] != "test-key" {
		t.Errorf("path %q, key %q", s.paths[0], s.keys[0])
	}
}

func TestSDKStream(t *testing.T) {
	evs := decodeStream(t, readSSE(t, mustRead(t, "testdata/stream/text.sse")))
	s := &sdkServer{t: t, evs: evs}
	c := newSDK(t, s)
	var text, thoughts strings.Builder
	var last *genai.GenerateContentResponse
	var sigs []string
	for resp, err := range c.Models.GenerateContentStream(context.Background(), "gemini-2.5-pro", genai.Text("Hi"), nil) {
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range resp.Candidates[0].Content.Parts {
			if p.Thought {
				thoughts.WriteString(p.Text)
			} else {
				text.WriteString(p.Text)
			}
			if len(p.ThoughtSignature) > 0 {
				sigs = append(sigs, string(p.ThoughtSignature))
			}
		}
		last = resp
	}
	if text.String() != "Hello, world!" || thoughts.String() != "Thinking about it more." {
		t.Errorf("text %q, thoughts %q", text.String(), thoughts.String())
	}
	if strings.Join(sigs, ",") != "th,end" {
		t.Errorf("signatures %q", sigs)
	}
	if last == nil || last.Candidates[0].FinishReason != genai.FinishReasonStop || last.UsageMetadata.ThoughtsTokenCount != 30 ||
		last.UsageMetadata.CandidatesTokenCount != 4 || last.ResponseID != "s1" {
		t.Errorf("last chunk %+v", last)
	}
	if s.paths[0] != "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse" {
		t.Errorf("path %q", s.paths[0])
	}
}

func TestSDKStreamError(t *testing.T) {
	evs := decodeStream(t, readSSE(t, mustRead(t, "testdata/stream/error.sse")))
	c := newSDK(t, &sdkServer{t: t, evs: evs})
	var apiErr genai.APIError
	for _, err := range c.Models.GenerateContentStream(context.Background(), "gemini-2.0-flash", genai.Text("Hi"), nil) {
		if err != nil {
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %T %v, want an APIError", err, err)
			}
			break
		}
	}
	if apiErr.Code != 503 || apiErr.Status != "UNAVAILABLE" || !strings.Contains(apiErr.Message, "overloaded") {
		t.Errorf("stream error %+v", apiErr)
	}
}

func TestSDKError(t *testing.T) {
	c := newSDK(t, &sdkServer{t: t, fail: true})
	_, err := c.Models.GenerateContent(context.Background(), "gemini-2.0-flash", genai.Text("Hi"), nil)
	var apiErr genai.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 429 || apiErr.Status != "RESOURCE_EXHAUSTED" || apiErr.Message != "slow down" {
		t.Errorf("error %T %+v", err, err)
	}
}

func TestSDKEmbed(t *testing.T) {
	s := &sdkServer{t: t}
	c := newSDK(t, s)
	dims := int32(3)
	resp, err := c.Models.EmbedContent(context.Background(), "gemini-embedding-001",
		[]*genai.Content{genai.NewContentFromText("one", genai.RoleUser), genai.NewContentFromText("two", genai.RoleUser)},
		&genai.EmbedContentConfig{TaskType: "RETRIEVAL_QUERY", OutputDimensionality: &dims})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != 2 || resp.Embeddings[1].Values[0] != 1 || resp.Embeddings[0].Values[2] != -0.25 {
		t.Errorf("embeddings %+v", resp.Embeddings)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.embed; len(e.Inputs) != 2 || e.Inputs[1] != "two" || e.TaskType != "RETRIEVAL_QUERY" || e.Dimensions != 3 || e.Model != "gemini-embedding-001" {
		t.Errorf("decoded %+v", e)
	}
}

// TestCaller checks that a Google SDK's request is claimed as Gemini's.
func TestCaller(t *testing.T) {
	var h fasthttp.RequestHeader
	if caller(&h) {
		t.Error("a request without x-goog-api-key is claimed")
	}
	h.Set("x-goog-api-key", "k")
	if !caller(&h) {
		t.Error("a request with x-goog-api-key is not claimed")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
