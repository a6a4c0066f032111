package mock

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// drivers are the two ways a stream is written (stream.go): in place by fasthttp when
// it has nothing to wait for, else paced from the pacers on a hijacked connection. A
// fake clock makes the pacing instant, so both must produce the same bytes.
var drivers = []struct {
	name    string
	headers map[string]string // steering that selects the driver
}{
	{"in_place", nil},
	{"paced", map[string]string{"X-Mock-TTFT": "1", "X-Mock-ITL": "1"}},
}

// withHeaders returns h with extra added; neither is modified.
func withHeaders(h, extra map[string]string) map[string]string {
	out := make(map[string]string, len(h)+len(extra))
	for k, v := range extra {
		out[k] = v
	}
	for k, v := range h {
		out[k] = v
	}
	return out
}

// TestWireGolden pins the exact bytes of every format's replies, streams written both
// in place and paced. Run with -update after a deliberate change and review the diff.
func TestWireGolden(t *testing.T) {
	tools := `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}}]`
	respTools := `"tools":[{"type":"web_search"},{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]},"strict":true}]`
	antTools := `"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}}}}]`
	gemTools := `"tools":[{"functionDeclarations":[{"name":"get_weather","description":"Weather","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"},"days":{"type":"INTEGER"}},"required":["city"]}}]}]`
	brTools := `"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"Weather","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}}}}],"toolChoice":{"any":{}}}`
	brMsgs := `"messages":[{"role":"user","content":[{"text":"Say hello."}]}]`
	sig := map[string]string{"Authorization": testSigV4}
	const converse = "/model/anthropic.claude-3-5-haiku-20241022-v1:0/converse"
	cases := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    string
	}{
		{"chat", "POST", "/v1/chat/completions", nil, chatBody},
		{"chat_stream", "POST", "/v1/chat/completions", map[string]string{"X-Mock-Tokens": "3"},
			`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"chat_stream_usage", "POST", "/v1/chat/completions", map[string]string{"X-Mock-Tokens": "3"},
			`{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`},
		{"chat_length", "POST", "/v1/chat/completions", nil,
			`{"model":"gpt-4o-mini","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}`},
		{"chat_tool", "POST", "/v1/chat/completions", nil,
			`{"model":"gpt-4o-mini","tool_choice":"required",` + tools + `,"messages":[{"role":"user","content":"weather?"}]}`},
		{"chat_tool_stream", "POST", "/v1/chat/completions", nil,
			`{"model":"gpt-4o-mini","stream":true,"tool_choice":{"type":"function","function":{"name":"get_weather"}},` + tools + `,"messages":[{"role":"user","content":"weather?"}]}`},
		{"completions", "POST", "/v1/completions", nil, `{"model":"gpt-3.5-turbo-instruct","prompt":"Once upon"}`},
		{"completions_stream", "POST", "/v1/completions", map[string]string{"X-Mock-Tokens": "2"},
			`{"model":"gpt-3.5-turbo-instruct","prompt":"Once upon","stream":true,"stream_options":{"include_usage":true}}`},
		{"embeddings", "POST", "/v1/embeddings", nil, `{"model":"text-embedding-3-small","input":["a","b"],"dimensions":4}`},
		{"embeddings_base64", "POST", "/v1/embeddings", nil, `{"model":"text-embedding-3-small","input":"a","dimensions":5,"encoding_format":"base64"}`},
		{"responses", "POST", "/v1/responses", nil, `{"model":"gpt-4o-mini","input":"Say hi"}`},
		{"responses_stream", "POST", "/v1/responses", map[string]string{"X-Mock-Tokens": "2"},
			`{"model":"gpt-4o-mini","input":[{"role":"user","content":"Say hi"}],"stream":true}`},
		{"responses_tool", "POST", "/v1/responses", nil,
			`{"model":"gpt-4o-mini","input":"weather?","tool_choice":"required",` + respTools + `}`},
		{"responses_tool_stream", "POST", "/v1/responses", nil,
			`{"model":"gpt-4o-mini","input":"weather?","stream":true,"tool_choice":{"type":"function","name":"get_weather"},` + respTools + `}`},
		{"models", "GET", "/v1/models", nil, ""},
		{"models_anthropic", "GET", "/v1/models", map[string]string{"anthropic-version": "2023-06-01"}, ""},
		{"messages", "POST", "/v1/messages", nil,
			`{"model":"claude-3-5-haiku","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"Say hello."}]}`},
		{"messages_stream", "POST", "/v1/messages", map[string]string{"X-Mock-Tokens": "3"},
			`{"model":"claude-3-5-haiku","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Say hello."}]}`},
		{"messages_tool_stream", "POST", "/v1/messages", nil,
			`{"model":"claude-3-5-haiku","max_tokens":100,"stream":true,"tool_choice":{"type":"any"},` + antTools + `,"messages":[{"role":"user","content":"weather?"}]}`},
		{"messages_no_max_tokens", "POST", "/v1/messages", nil,
			`{"model":"claude-3-5-haiku","messages":[{"role":"user","content":"Say hello."}]}`},
		{"gemini", "POST", "/v1beta/models/gemini-2.0-flash:generateContent", nil,
			`{"contents":[{"role":"user","parts":[{"text":"Say hello."}]}]}`},
		{"gemini_stream_sse", "POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", map[string]string{"X-Mock-Tokens": "3"},
			`{"contents":[{"role":"user","parts":[{"text":"Say hello."}]}]}`},
		{"gemini_stream_array", "POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent", map[string]string{"X-Mock-Tokens": "2"},
			`{"contents":[{"role":"user","parts":[{"text":"Say hello."}]}]}`},
		{"azure_chat", "POST", "/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21", map[string]string{"X-Mock-Tokens": "2"},
			`{"messages":[{"role":"user","content":"hi"}]}`},
		{"count_tokens", "POST", "/v1/messages/count_tokens", nil,
			`{"model":"claude-3-5-haiku","system":"Be brief.","messages":[{"role":"user","content":"Say hello."}]}`},
		{"gemini_tool", "POST", "/v1beta/models/gemini-2.0-flash:generateContent", nil,
			`{"contents":[{"role":"user","parts":[{"text":"weather?"}]}],` + gemTools + `,"toolConfig":{"functionCallingConfig":{"mode":"ANY"}}}`},
		{"gemini_tool_stream_sse", "POST", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", nil,
			`{"contents":[{"role":"user","parts":[{"text":"weather?"}]}],` + gemTools + `,"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}}}`},
		{"gemini_embed", "POST", "/v1beta/models/text-embedding-004:embedContent", nil,
			`{"content":{"parts":[{"text":"a"}]},"outputDimensionality":4}`},
		{"gemini_batch_embed", "POST", "/v1beta/models/text-embedding-004:batchEmbedContents", nil,
			`{"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"a"}]},"outputDimensionality":4},{"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]},"outputDimensionality":3}]}`},
		{"converse", "POST", converse, sig, `{"system":[{"text":"Be brief."}],` + brMsgs + `}`},
		{"converse_length", "POST", converse, sig, `{"inferenceConfig":{"maxTokens":4},` + brMsgs + `}`},
		{"converse_tool", "POST", converse, sig, `{` + brTools + `,` + brMsgs + `}`},
		{"converse_stream", "POST", converse + "-stream", withHeaders(sig, map[string]string{"X-Mock-Tokens": "3"}), `{` + brMsgs + `}`},
		{"converse_tool_stream", "POST", converse + "-stream", sig, `{` + brTools + `,` + brMsgs + `}`},
		{"error_bedrock_429", "POST", converse, withHeaders(sig, map[string]string{"X-Mock-Status": "429"}), `{}`},
		{"error_bedrock_unsigned", "POST", converse, nil, `{` + brMsgs + `}`},
		{"error_bedrock_validation", "POST", converse + "-stream", sig, `{"messages":[]}`},
		{"error_openai_429", "POST", "/v1/chat/completions", map[string]string{"X-Mock-Status": "429"}, chatBody},
		{"error_anthropic_529", "POST", "/v1/messages", map[string]string{"X-Mock-Status": "529"}, `{}`},
		{"error_gemini_503", "POST", "/v1beta/models/gemini-2.0-flash:generateContent", map[string]string{"X-Mock-Status": "503"}, `{}`},
		{"error_bad_steering", "POST", "/v1/chat/completions", map[string]string{"X-Mock-TTFT": "soon"}, chatBody},
		{"error_bad_json", "POST", "/v1/chat/completions", nil, `{"model":`},
		{"not_found", "GET", "/v2/nothing", nil, ""},
	}
	for _, tc := range cases {
		for _, drv := range drivers {
			if drv.headers != nil && (*update || !strings.Contains(tc.body, `"stream":true`) && !strings.Contains(tc.path, "stream")) {
				continue // only streams have two drivers
			}
			t.Run(tc.name+"/"+drv.name, func(t *testing.T) {
				wireGolden(t, tc.name, tc.method, tc.path, withHeaders(tc.headers, drv.headers), tc.body)
			})
		}
	}
}

// wireGolden sends one request and compares what the client reads with golden file name.
// latencyMs matches the metrics a Bedrock stream reports: they follow the steering,
// which differs between the two drivers.
var latencyMs = regexp.MustCompile(`"latencyMs":[0-9]+`)

// renderEventStream decodes an AWS event stream with the AWS SDK's own decoder, which
// checks every length and CRC, and renders each message as text: its headers, then its
// payload, latencyMs masked.
func renderEventStream(t *testing.T, body string) string {
	t.Helper()
	dec := eventstream.NewDecoder()
	r := strings.NewReader(body)
	var out strings.Builder
	for r.Len() > 0 {
		msg, err := dec.Decode(r, nil)
		if err != nil {
			t.Fatalf("decoding the event stream at byte %d: %v", len(body)-r.Len(), err)
		}
		for _, h := range msg.Headers {
			out.WriteString(h.Name + "=" + h.Value.String() + " ")
		}
		out.WriteString("\n" + latencyMs.ReplaceAllString(string(msg.Payload), `"latencyMs":(masked)`) + "\n\n")
	}
	return out.String()
}

func wireGolden(t *testing.T, name, method, path string, headers map[string]string, reqBody string) {
	t.Helper()
	_, base := startMock(t, Options{Seed: 7}, newFakeClock())
	resp, body := do(t, method, base+path, headers, reqBody)
	got := fmt.Sprintf("status: %d\ncontent-type: %s\n", resp.StatusCode, resp.Header.Get("Content-Type"))
	for _, h := range []string{"Retry-After", "Retry-After-Ms", "X-Ratelimit-Remaining-Requests", "Anthropic-Ratelimit-Requests-Remaining", "X-Amzn-Errortype"} {
		if v := resp.Header.Get(h); v != "" {
			got += strings.ToLower(h) + ": " + v + "\n"
		}
	}
	if resp.Header.Get("Content-Type") == "application/vnd.amazon.eventstream" {
		body = renderEventStream(t, body)
	}
	got += "\n" + body
	file := filepath.Join("testdata", "golden", name+".txt")
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -run TestWireGolden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("reply differs from %s\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}
