package mock

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// serveDirect runs the handler on a RequestCtx, with no network.
func serveDirect(h fasthttp.RequestHandler, path, body string, headers ...string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI(path)
	req.Header.SetContentType("application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	req.SetBodyString(body)
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, nil, nil)
	h(ctx)
	return ctx
}

// TestChaosRates checks each rate over many requests against a binomial bound of five
// standard deviations, so that the test cannot fail by chance in practice.
func TestChaosRates(t *testing.T) {
	const n = 4000
	for _, tc := range []struct {
		header string
		rate   float64
		hit    func(ctx *fasthttp.RequestCtx) bool
	}{
		{"X-Mock-Error-Rate", 30, func(ctx *fasthttp.RequestCtx) bool {
			return ctx.Response.StatusCode() == 500 && strings.Contains(string(ctx.Response.Body()), `"type":"server_error"`)
		}},
		{"X-Vidai-Chaos-Drop", 10, func(ctx *fasthttp.RequestCtx) bool { return ctx.Response.StatusCode() == 500 }},
		{"X-Mock-Drop-Rate", 5, func(ctx *fasthttp.RequestCtx) bool { return ctx.Hijacked() }},
		{"X-Mock-Malformed-Rate", 50.5, func(ctx *fasthttp.RequestCtx) bool {
			return ctx.Response.StatusCode() == 200 && !json.Valid(ctx.Response.Body())
		}},
	} {
		t.Run(tc.header, func(t *testing.T) {
			s, err := New(Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			h := s.Handler()
			hits := 0
			for range n {
				if tc.hit(serveDirect(h, "/v1/chat/completions", chatBody, tc.header, strconvF(tc.rate))) {
					hits++
				}
			}
			p := tc.rate / 100
			mean, sd := n*p, math.Sqrt(n*p*(1-p))
			if math.Abs(float64(hits)-mean) > 5*sd {
				t.Errorf("%d hits of %d at %v%%, want %.0f ± %.0f", hits, n, tc.rate, mean, 5*sd)
			}
		})
	}
	t.Run("zero and hundred", func(t *testing.T) {
		s, _ := New(Options{}, nil)
		for range 200 {
			if ctx := serveDirect(s.Handler(), "/v1/chat/completions", chatBody, "X-Mock-Error-Rate", "0"); ctx.Response.StatusCode() != 200 {
				t.Fatal("0% failed a request")
			}
			if ctx := serveDirect(s.Handler(), "/v1/messages", `{}`, "X-Mock-Error-Rate", "100"); ctx.Response.StatusCode() != 500 ||
				!strings.Contains(string(ctx.Response.Body()), `"type":"api_error"`) {
				t.Fatal("100% let a request through, or not in Anthropic's shape")
			}
		}
	})
}

func strconvF(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// TestMalformedStream: a malformed stream breaks the JSON of its first token event,
// with both stream drivers.
func TestMalformedStream(t *testing.T) {
	for _, drv := range drivers {
		t.Run(drv.name, func(t *testing.T) {
			_, base := startMock(t, Options{}, newFakeClock())
			headers := withHeaders(map[string]string{"X-Mock-Malformed-Rate": "100", "X-Mock-Tokens": "3"}, drv.headers)
			_, body := do(t, "POST", base+"/v1/chat/completions", headers,
				`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
			bad := 0
			for i, ev := range strings.Split(strings.TrimSpace(body), "\n\n") {
				data := strings.TrimPrefix(ev, "data: ")
				if data != "[DONE]" && !json.Valid([]byte(data)) {
					bad++
					if i != 1 {
						t.Errorf("event %d broken, want the first token's (1)", i)
					}
				}
			}
			if bad != 1 {
				t.Errorf("%d broken events, want 1:\n%s", bad, body)
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	reply := func(seed int64, body string) string {
		s, _ := New(Options{Seed: seed}, nil)
		ctx := serveDirect(s.Handler(), "/v1/chat/completions", body)
		var r struct {
			Choices []struct{ Message struct{ Content string } }
		}
		if err := json.Unmarshal(ctx.Response.Body(), &r); err != nil {
			t.Fatal(err)
		}
		return r.Choices[0].Message.Content
	}
	a := reply(1, chatBody)
	if b := reply(1, chatBody); a != b {
		t.Errorf("same seed and request, different replies: %q %q", a, b)
	}
	if b := reply(2, chatBody); a == b {
		t.Errorf("different seeds, same reply %q", a)
	}
	other := strings.Replace(chatBody, "gateway", "world", 1)
	if b := reply(1, other); a == b {
		t.Errorf("different prompts, same reply %q", a)
	}
}

func TestEcho(t *testing.T) {
	s, _ := New(Options{Echo: true}, nil)
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"first"},{"role":"assistant","content":"x"},{"role":"user","content":"Say \"hi\"\nto  me"}]}`, `"content":"Say \"hi\"\nto  me"`},
		{"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"part one"},{"type":"text","text":"two"}]}]}`, `"content":"part one two"`},
		{"/v1/messages", `{"model":"m","max_tokens":2,"messages":[{"role":"user","content":"one two three"}]}`, `"text":"one two"`},
		{"/v1/responses", `{"model":"m","input":"echo me"}`, `"text":"echo me"`},
		{"/v1beta/models/g:generateContent", `{"contents":[{"parts":[{"text":"gem ini"}]}]}`, `"text":"gem ini"`},
	} {
		ctx := serveDirect(s.Handler(), tc.path, tc.body)
		if !strings.Contains(string(ctx.Response.Body()), tc.want) {
			t.Errorf("%s: %s, want it to contain %s", tc.path, ctx.Response.Body(), tc.want)
		}
	}
}

func TestValidation(t *testing.T) {
	s, _ := New(Options{}, nil)
	for _, tc := range []struct {
		path, body string
		status     int
		contains   string
	}{
		{"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`, 400, `"param":"model"`},
		{"/v1/chat/completions", `{"model":"m","messages":[]}`, 400, `"param":"messages"`},
		{"/v1/chat/completions", `{"model":"m","max_tokens":"x","messages":[{"role":"user","content":"hi"}]}`, 400, `"param":"max_tokens"`},
		{"/v1/chat/completions", `[1,2]`, 400, "JSON object"},
		{"/v1/chat/completions", `{"model":"m","tool_choice":{"type":"function","function":{"name":"nope"}},"tools":[{"type":"function","function":{"name":"a"}}],"messages":[{"role":"user","content":"hi"}]}`, 400, "nope"},
		{"/v1/messages", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`, 400, `"type":"invalid_request_error"`},
		{"/v1/messages", `{"model":"m","max_tokens":5}`, 400, "messages"},
		{"/v1/embeddings", `{"model":"m","input":[]}`, 400, `"param":"input"`},
		{"/v1/embeddings", `{"model":"m","input":"x","dimensions":0}`, 400, `"param":"dimensions"`},
		{"/v1/embeddings", `{"model":"m","input":"x","encoding_format":"int8"}`, 400, `"param":"encoding_format"`},
		{"/v1/responses", `{"model":"m"}`, 400, `"param":"input"`},
		{"/v1/completions", `{"model":"m"}`, 400, `"param":"prompt"`},
		{"/v1beta/models/g:generateContent", `{"contents":[]}`, 400, `"status":"INVALID_ARGUMENT"`},
		{"/v1beta/models/g:countTokens", `{}`, 404, `"status":"NOT_FOUND"`},
		{"/v1beta/models/g:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}],"tools":[{"googleSearch":{}}],"toolConfig":{"functionCallingConfig":{"mode":"ANY"}}}`, 400, "needs function declarations"},
		{"/v1beta/models/g:embedContent", `{}`, 400, "content is not specified"},
		{"/v1beta/models/g:embedContent", `{"content":{"parts":[{"text":"a"}]},"outputDimensionality":0}`, 400, "output_dimensionality"},
		{"/v1beta/models/g:batchEmbedContents", `{"requests":[]}`, 400, "requests is not specified"},
		{"/v1beta/models/g:batchEmbedContents", `{"requests":[{"content":{"parts":[{"text":"a"}]}},{"content":{}}]}`, 400, "BatchEmbedContentsRequest.requests.content"},
		{"/v1/messages/count_tokens", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "model: Field required"},
		{"/v1/messages/count_tokens", `{"model":"m"}`, 400, `"type":"invalid_request_error"`},
		{"/model/m/converse", `{}`, 403, "Missing Authentication Token"},
		{"/v1/chat/completions", chatBody, 201, `"chat.completion"`}, // with X-Mock-Status 201 below
	} {
		var headers []string
		if tc.status == 201 {
			headers = []string{"X-Mock-Status", "201"}
		}
		ctx := serveDirect(s.Handler(), tc.path, tc.body, headers...)
		if ctx.Response.StatusCode() != tc.status || !strings.Contains(string(ctx.Response.Body()), tc.contains) {
			t.Errorf("%s %s: %d %s", tc.path, tc.body, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	// GET on a POST route.
	var req fasthttp.Request
	req.SetRequestURI("/v1/chat/completions")
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, nil, nil)
	s.Handler()(ctx)
	if ctx.Response.StatusCode() != 405 {
		t.Errorf("GET chat: %d", ctx.Response.StatusCode())
	}
}

func TestMetricsAndHealth(t *testing.T) {
	_, base := startMock(t, Options{}, nil)
	if resp, body := do(t, "GET", base+"/healthz", nil, ""); resp.StatusCode != 200 || body != "ok\n" {
		t.Errorf("healthz %d %q", resp.StatusCode, body)
	}
	do(t, "POST", base+"/v1/chat/completions", nil, chatBody)
	do(t, "POST", base+"/v1/chat/completions", map[string]string{"X-Mock-Status": "429"}, chatBody)
	do(t, "POST", base+"/v1/chat/completions", nil, `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	_, body := do(t, "GET", base+"/metrics", nil, "")
	for _, want := range []string{
		`sluice_mock_requests_total{route="chat_completions",status="200"} 2`,
		`sluice_mock_requests_total{route="chat_completions",status="429"} 1`,
		"sluice_mock_open_streams 0",
		"sluice_mock_stream_events_total 16",
		"sluice_mock_response_bytes_total ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}
