package mock

import (
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/aws/aws-sdk-go-v2/aws"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"
)

// prompt20 is 80 bytes of message text: a prompt of 20 tokens.
var prompt20 = strings.Repeat("abcd", 20)

// cacheUsage is what a reply should report: p prompt tokens in all, of which read were
// read from the cache and write written to it, and out completion tokens.
type cacheUsage struct{ p, read, write, out int }

// absent stands for a usage field the reply must not carry.
const absent = -1

// usageFields reads the integer at each gjson path of js into m under prefix+path;
// a path that is not there reads as absent.
func usageFields(m map[string]int, js, prefix string, paths ...string) {
	for _, p := range paths {
		v := gjson.Get(js, p)
		if !v.Exists() {
			m[prefix+p] = absent
			continue
		}
		m[prefix+p] = int(v.Int())
	}
}

// sseData returns the data of every SSE event of body, [DONE] left out.
func sseData(body string) []string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		d, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "data: ")
		if ok && d != "[DONE]" {
			out = append(out, d)
		}
	}
	return out
}

// cacheRoute is one route and mode (whole or streamed) whose usage a cache test reads.
type cacheRoute struct {
	name    string
	path    string
	headers map[string]string
	body    string // a prompt of 20 tokens
	stream  bool
	read    func(t *testing.T, body string) map[string]int
	want    func(u cacheUsage) map[string]int
}

var (
	chatUsagePaths       = []string{"usage.prompt_tokens", "usage.prompt_tokens_details.cached_tokens", "usage.completion_tokens", "usage.total_tokens"}
	responsesUsagePaths  = []string{"usage.input_tokens", "usage.input_tokens_details.cached_tokens", "usage.output_tokens", "usage.total_tokens"}
	openAIChatBody       = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + prompt20 + `"}]`
	openAICompletionBody = `{"model":"gpt-3.5-turbo-instruct","prompt":"` + prompt20 + `"`
	openAIStreamUsage    = `,"stream":true,"stream_options":{"include_usage":true}}`
)

// readOpenAIReply reads a chat or completions reply's usage.
func readOpenAIReply(_ *testing.T, body string) map[string]int {
	m := map[string]int{}
	usageFields(m, body, "", chatUsagePaths...)
	return m
}

// readOpenAIStream reads the usage chunk of a chat or completions stream: the one
// chunk whose usage is not null.
func readOpenAIStream(t *testing.T, body string) map[string]int {
	m := map[string]int{}
	for _, d := range sseData(body) {
		if gjson.Get(d, "usage").IsObject() {
			if len(m) > 0 {
				t.Errorf("two usage chunks in %s", body)
			}
			usageFields(m, d, "", chatUsagePaths...)
		}
	}
	return m
}

func wantChat(u cacheUsage) map[string]int {
	return map[string]int{
		"usage.prompt_tokens":                       u.p,
		"usage.prompt_tokens_details.cached_tokens": u.read,
		"usage.completion_tokens":                   u.out,
		"usage.total_tokens":                        u.p + u.out,
	}
}

// wantCompletion: the legacy usage object has details only when some tokens were cached.
func wantCompletion(u cacheUsage) map[string]int {
	m := wantChat(u)
	if u.read == 0 {
		m["usage.prompt_tokens_details.cached_tokens"] = absent
	}
	return m
}

func readResponsesReply(_ *testing.T, body string) map[string]int {
	m := map[string]int{}
	usageFields(m, body, "", responsesUsagePaths...)
	return m
}

// readResponsesStream reads the usage of response.completed; the earlier response
// objects have none.
func readResponsesStream(t *testing.T, body string) map[string]int {
	m := map[string]int{}
	for _, d := range sseData(body) {
		r := gjson.Get(d, "response")
		if !r.Exists() {
			continue
		}
		if typ := gjson.Get(d, "type").Str; typ != "response.completed" {
			if u := r.Get("usage"); u.Type != gjson.Null {
				t.Errorf("%s carries usage %s", typ, u.Raw)
			}
			continue
		}
		usageFields(m, r.Raw, "", responsesUsagePaths...)
	}
	return m
}

func wantResponses(u cacheUsage) map[string]int {
	return map[string]int{
		"usage.input_tokens":                       u.p,
		"usage.input_tokens_details.cached_tokens": u.read,
		"usage.output_tokens":                      u.out,
		"usage.total_tokens":                       u.p + u.out,
	}
}

var (
	messagesUsagePaths = []string{"input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
		"cache_creation.ephemeral_5m_input_tokens", "cache_creation.ephemeral_1h_input_tokens", "output_tokens"}
	messagesBody = `{"model":"claude-3-5-haiku","max_tokens":100,"messages":[{"role":"user","content":"` + prompt20 + `"}]`
)

func readMessagesReply(_ *testing.T, body string) map[string]int {
	m := map[string]int{}
	usageFields(m, gjson.Get(body, "usage").Raw, "", messagesUsagePaths...)
	return m
}

// readMessagesStream reads the usage of message_start (prefix "start.") and of
// message_delta (prefix "delta.").
func readMessagesStream(_ *testing.T, body string) map[string]int {
	m := map[string]int{}
	for _, d := range sseData(body) {
		switch gjson.Get(d, "type").Str {
		case "message_start":
			usageFields(m, gjson.Get(d, "message.usage").Raw, "start.", messagesUsagePaths...)
		case "message_delta":
			usageFields(m, gjson.Get(d, "usage").Raw, "delta.", messagesUsagePaths...)
		}
	}
	return m
}

func wantMessages(u cacheUsage) map[string]int {
	return map[string]int{
		"input_tokens":                             u.p - u.read - u.write,
		"cache_read_input_tokens":                  u.read,
		"cache_creation_input_tokens":              u.write,
		"cache_creation.ephemeral_5m_input_tokens": u.write,
		"cache_creation.ephemeral_1h_input_tokens": 0,
		"output_tokens":                            u.out,
	}
}

// wantMessagesStream: message_start has the whole usage object with one output token,
// as the real API sends it; message_delta repeats the input counts, without the
// cache_creation breakdown.
func wantMessagesStream(u cacheUsage) map[string]int {
	m := map[string]int{}
	for k, v := range wantMessages(u) {
		m["start."+k] = v
		m["delta."+k] = v
	}
	m["start.output_tokens"] = 1
	m["delta.cache_creation.ephemeral_5m_input_tokens"] = absent
	m["delta.cache_creation.ephemeral_1h_input_tokens"] = absent
	return m
}

var (
	geminiUsagePaths = []string{"usageMetadata.promptTokenCount", "usageMetadata.cachedContentTokenCount",
		"usageMetadata.candidatesTokenCount", "usageMetadata.totalTokenCount"}
	geminiBody = `{"contents":[{"role":"user","parts":[{"text":"` + prompt20 + `"}]}]}`
)

func readGeminiReply(_ *testing.T, body string) map[string]int {
	m := map[string]int{}
	usageFields(m, body, "", geminiUsagePaths...)
	return m
}

// readGeminiChunks reads the usage of a stream's last chunk; no other may carry any.
func readGeminiChunks(t *testing.T, chunks []string) map[string]int {
	m := map[string]int{}
	for i, d := range chunks {
		if i < len(chunks)-1 {
			if u := gjson.Get(d, "usageMetadata"); u.Exists() {
				t.Errorf("chunk %d of %d carries usage %s", i, len(chunks), u.Raw)
			}
			continue
		}
		usageFields(m, d, "", geminiUsagePaths...)
	}
	return m
}

func readGeminiSSE(t *testing.T, body string) map[string]int {
	return readGeminiChunks(t, sseData(body))
}

func readGeminiArray(t *testing.T, body string) map[string]int {
	var chunks []string
	for _, r := range gjson.Parse(body).Array() {
		chunks = append(chunks, r.Raw)
	}
	return readGeminiChunks(t, chunks)
}

func wantGemini(u cacheUsage) map[string]int {
	m := map[string]int{
		"usageMetadata.promptTokenCount":        u.p,
		"usageMetadata.cachedContentTokenCount": u.read,
		"usageMetadata.candidatesTokenCount":    u.out,
		"usageMetadata.totalTokenCount":         u.p + u.out,
	}
	if u.read == 0 {
		m["usageMetadata.cachedContentTokenCount"] = absent
	}
	return m
}

var (
	bedrockUsagePaths = []string{"inputTokens", "cacheReadInputTokens", "cacheWriteInputTokens", "outputTokens", "totalTokens"}
	bedrockSig        = map[string]string{"Authorization": testSigV4}
	bedrockBody       = `{"messages":[{"role":"user","content":[{"text":"` + prompt20 + `"}]}]}`
)

const bedrockPath = "/model/anthropic.claude-3-5-haiku-20241022-v1:0/converse"

func readConverseReply(_ *testing.T, body string) map[string]int {
	m := map[string]int{}
	usageFields(m, gjson.Get(body, "usage").Raw, "", bedrockUsagePaths...)
	return m
}

// readConverseStream reads the usage of the metadata event.
func readConverseStream(t *testing.T, body string) map[string]int {
	msgs, err := converseEvents([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, msg := range msgs {
		if eventType(msg) == "metadata" {
			usageFields(m, gjson.GetBytes(msg.Payload, "usage").Raw, "", bedrockUsagePaths...)
		}
	}
	return m
}

func wantConverse(u cacheUsage) map[string]int {
	return map[string]int{
		"inputTokens":           u.p - u.read - u.write,
		"cacheReadInputTokens":  u.read,
		"cacheWriteInputTokens": u.write,
		"outputTokens":          u.out,
		"totalTokens":           u.p + u.out,
	}
}

// cacheRoutes are the routes and modes the cache tests cover.
var cacheRoutes = []cacheRoute{
	{"chat", "/v1/chat/completions", nil, openAIChatBody + `}`, false, readOpenAIReply, wantChat},
	{"chat_stream", "/v1/chat/completions", nil, openAIChatBody + openAIStreamUsage, true, readOpenAIStream, wantChat},
	{"azure_chat", "/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21", nil,
		`{"messages":[{"role":"user","content":"` + prompt20 + `"}]}`, false, readOpenAIReply, wantChat},
	{"azure_chat_stream", "/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21", nil,
		`{"messages":[{"role":"user","content":"` + prompt20 + `"}]` + openAIStreamUsage, true, readOpenAIStream, wantChat},
	{"completions", "/v1/completions", nil, openAICompletionBody + `}`, false, readOpenAIReply, wantCompletion},
	{"completions_stream", "/v1/completions", nil, openAICompletionBody + openAIStreamUsage, true, readOpenAIStream, wantCompletion},
	{"responses", "/v1/responses", nil, `{"model":"gpt-4o-mini","input":"` + prompt20 + `"}`, false, readResponsesReply, wantResponses},
	{"messages", "/v1/messages", nil, messagesBody + `}`, false, readMessagesReply, wantMessages},
	{"messages_stream", "/v1/messages", nil, messagesBody + `,"stream":true}`, true, readMessagesStream, wantMessagesStream},
	{"gemini", "/v1beta/models/gemini-2.0-flash:generateContent", nil, geminiBody, false, readGeminiReply, wantGemini},
	{"gemini_stream_sse", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", nil, geminiBody, true, readGeminiSSE, wantGemini},
	{"gemini_stream_array", "/v1beta/models/gemini-2.0-flash:streamGenerateContent", nil, geminiBody, true, readGeminiArray, wantGemini},
	{"converse", bedrockPath, bedrockSig, bedrockBody, false, readConverseReply, wantConverse},
	{"converse_stream", bedrockPath + "-stream", bedrockSig, bedrockBody, true, readConverseStream, wantConverse},
	{"responses_stream", "/v1/responses", nil, `{"model":"gpt-4o-mini","input":"` + prompt20 + `","stream":true}`, true, readResponsesStream, wantResponses},
}

// TestCacheUsage checks, for every format, whole and streamed (both stream drivers),
// the usage that X-Mock-Cached-Tokens and X-Mock-Cache-Write-Tokens make a reply
// report: the prompt count keeps counting every prompt token, grows to cover the
// cached and written ones, and each format splits it its own way.
func TestCacheUsage(t *testing.T) {
	_, base := startMock(t, Options{Seed: 7}, newFakeClock())
	steers := []struct {
		name  string
		query string // query parameters, without ? or &
		head  map[string]string
		u     cacheUsage
	}{
		{"none", "", nil, cacheUsage{p: 20}},
		{"read and write", "", map[string]string{"X-Mock-Cached-Tokens": "12", "X-Mock-Cache-Write-Tokens": "4"}, cacheUsage{p: 20, read: 12, write: 4}},
		{"read all", "", map[string]string{"X-Mock-Cached-Tokens": "20"}, cacheUsage{p: 20, read: 20}},
		{"write only", "", map[string]string{"X-Mock-Cache-Write-Tokens": "7"}, cacheUsage{p: 20, write: 7}},
		{"prompt grows", "", map[string]string{"X-Mock-Cached-Tokens": "30", "X-Mock-Cache-Write-Tokens": "10"}, cacheUsage{p: 40, read: 30, write: 10}},
		{"query", "X-Mock-Cached-Tokens=5&x-mock-cache-write-tokens=2", nil, cacheUsage{p: 20, read: 5, write: 2}},
		{"header beats query", "X-Mock-Cached-Tokens=5", map[string]string{"X-Mock-Cached-Tokens": "9"}, cacheUsage{p: 20, read: 9}},
	}
	for _, r := range cacheRoutes {
		for _, drv := range drivers {
			if drv.headers != nil && !r.stream {
				continue
			}
			for _, st := range steers {
				t.Run(r.name+"/"+drv.name+"/"+st.name, func(t *testing.T) {
					url := base + r.path
					if st.query != "" {
						url += map[bool]string{false: "?", true: "&"}[strings.Contains(url, "?")] + st.query
					}
					h := withHeaders(withHeaders(r.headers, drv.headers), withHeaders(st.head, map[string]string{"X-Mock-Tokens": "3"}))
					resp, body := do(t, "POST", url, h, r.body)
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("status %d: %s", resp.StatusCode, body)
					}
					u := st.u
					u.out = 3
					got, want := r.read(t, body), r.want(u)
					if !maps.Equal(got, want) {
						t.Errorf("usage\n got %v\nwant %v\nin %s", got, want, body)
					}
				})
			}
		}
	}
}

// TestCacheSteeringErrors: a malformed cache control gets the route's own 400 naming
// it, as every other control does.
func TestCacheSteeringErrors(t *testing.T) {
	_, base := startMock(t, Options{}, newFakeClock())
	for _, r := range cacheRoutes {
		for _, bad := range []struct{ name, value string }{
			{"X-Mock-Cached-Tokens", "-1"},
			{"X-Mock-Cache-Write-Tokens", strconv.Itoa(maxSteerTokens + 1)},
			{"X-Mock-Cached-Tokens", "twelve"},
		} {
			t.Run(r.name+"/"+bad.name+"="+bad.value, func(t *testing.T) {
				h := withHeaders(r.headers, map[string]string{bad.name: bad.value})
				resp, body := do(t, "POST", base+r.path, h, r.body)
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, bad.name) {
					t.Errorf("status %d, body %s: want a 400 naming %s", resp.StatusCode, body, bad.name)
				}
			})
		}
	}
}

// TestCacheCountTokens: count_tokens counts the whole prompt whatever the cache
// controls say, as the real API does (it cannot know what a cache will hold).
func TestCacheCountTokens(t *testing.T) {
	_, base := startMock(t, Options{}, newFakeClock())
	body := `{"model":"claude-3-5-haiku","messages":[{"role":"user","content":"` + prompt20 + `"}]}`
	for _, h := range []map[string]string{nil, {"X-Mock-Cached-Tokens": "12", "X-Mock-Cache-Write-Tokens": "4"}, {"X-Mock-Cached-Tokens": "30"}} {
		resp, got := do(t, "POST", base+"/v1/messages/count_tokens", h, body)
		if resp.StatusCode != http.StatusOK || got != `{"input_tokens":20}` {
			t.Errorf("steering %v: status %d, %s", h, resp.StatusCode, got)
		}
	}
}

// TestCacheUsageSDKs: the official clients read the cache counts where the mock puts
// them (20 prompt tokens, 12 read from the cache, 4 written to it).
func TestCacheUsageSDKs(t *testing.T) {
	_, base := startMock(t, Options{}, nil)
	steer := map[string]string{"X-Mock-Cached-Tokens": "12", "X-Mock-Cache-Write-Tokens": "4", "X-Mock-Tokens": "3"}
	ctx := sdkCtx(t)
	t.Run("openai", func(t *testing.T) {
		var opts []option.RequestOption
		for k, v := range steer {
			opts = append(opts, option.WithHeader(k, v))
		}
		client := openaiClient(base, opts...)
		got, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt20)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if u := got.Usage; u.PromptTokens != 20 || u.PromptTokensDetails.CachedTokens != 12 || u.TotalTokens != 23 {
			t.Errorf("usage %s", u.RawJSON())
		}
	})
	t.Run("anthropic", func(t *testing.T) {
		opts := []aoption.RequestOption{}
		for k, v := range steer {
			opts = append(opts, aoption.WithHeader(k, v))
		}
		params := anthropic.MessageNewParams{
			Model: "claude-3-5-haiku", MaxTokens: 100,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt20))},
		}
		client := anthropicClient(base)
		msg, err := client.Messages.New(ctx, params, opts...)
		if err != nil {
			t.Fatal(err)
		}
		u := msg.Usage
		if u.InputTokens != 4 || u.CacheReadInputTokens != 12 || u.CacheCreationInputTokens != 4 ||
			u.CacheCreation.Ephemeral5mInputTokens != 4 || u.CacheCreation.Ephemeral1hInputTokens != 0 || u.OutputTokens != 3 {
			t.Errorf("usage %s", u.RawJSON())
		}
		stream := client.Messages.NewStreaming(ctx, params, opts...)
		var acc anthropic.Message
		for stream.Next() {
			if err := acc.Accumulate(stream.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if a := acc.Usage; a.InputTokens != 4 || a.CacheReadInputTokens != 12 || a.CacheCreationInputTokens != 4 || a.OutputTokens != 3 {
			t.Errorf("streamed usage %+v", a)
		}
	})
	t.Run("bedrock", func(t *testing.T) {
		in := converseInput()
		in.System = nil
		in.Messages[0].Content = []brtypes.ContentBlock{&brtypes.ContentBlockMemberText{Value: prompt20}}
		got, err := bedrockClient(base, steer).Converse(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		u := got.Usage
		if aws.ToInt32(u.InputTokens) != 4 || aws.ToInt32(u.CacheReadInputTokens) != 12 ||
			aws.ToInt32(u.CacheWriteInputTokens) != 4 || aws.ToInt32(u.OutputTokens) != 3 || aws.ToInt32(u.TotalTokens) != 23 {
			t.Errorf("usage in %d read %d write %d out %d total %d", aws.ToInt32(u.InputTokens), aws.ToInt32(u.CacheReadInputTokens),
				aws.ToInt32(u.CacheWriteInputTokens), aws.ToInt32(u.OutputTokens), aws.ToInt32(u.TotalTokens))
		}
	})
}
