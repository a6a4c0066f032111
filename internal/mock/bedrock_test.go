package mock

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
)

const converseBody = `{"messages":[{"role":"user","content":[{"text":"Say hello."}]}]}`

// converseEvents decodes an event stream with the SDK's decoder, which checks every
// length and CRC, up to the first error; it returns the messages and that error (nil
// at a clean end).
func converseEvents(body []byte) ([]eventstream.Message, error) {
	dec := eventstream.NewDecoder()
	r := strings.NewReader(string(body))
	var msgs []eventstream.Message
	for r.Len() > 0 {
		m, err := dec.Decode(r, nil)
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

func eventType(m eventstream.Message) string { return m.Headers.Get(":event-type").String() }

// postStream sends a request and reads the body until it ends, cleanly or not.
func postStream(t *testing.T, url string, headers map[string]string, body string) (*http.Response, []byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// TestConverseStreamChaos: a malformed Bedrock stream keeps its framing and breaks the
// JSON of the first token's payload; X-Mock-Disconnect-After cuts it between messages.
// Both stream drivers.
func TestConverseStreamChaos(t *testing.T) {
	for _, drv := range drivers {
		t.Run(drv.name, func(t *testing.T) {
			_, base := startMock(t, Options{}, newFakeClock())
			url := base + "/model/m/converse-stream"
			h := withHeaders(map[string]string{"Authorization": testSigV4, "X-Mock-Tokens": "3", "X-Mock-Malformed-Rate": "100"}, drv.headers)
			_, body, err := postStream(t, url, h, converseBody)
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := converseEvents(body)
			if err != nil || len(msgs) != 7 {
				t.Fatalf("%d messages, %v", len(msgs), err)
			}
			for i, m := range msgs {
				if json.Valid(m.Payload) == (i == 1) {
					t.Errorf("message %d (%s) valid=%v: %s", i, eventType(m), json.Valid(m.Payload), m.Payload)
				}
			}

			h = withHeaders(map[string]string{"Authorization": testSigV4, "X-Mock-Tokens": "5", "X-Mock-Disconnect-After": "2"}, drv.headers)
			_, body, err = postStream(t, url, h, converseBody)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("read error %v, want unexpected EOF", err)
			}
			msgs, err = converseEvents(body)
			if err != nil || len(msgs) != 3 || eventType(msgs[0]) != "messageStart" || eventType(msgs[2]) != "contentBlockDelta" {
				t.Errorf("cut stream: %d messages, %v", len(msgs), err)
			}
		})
	}
}

// TestConverseSteering: metrics.latencyMs reports the steered latency; the signature
// is checked before steering; chaos and forced statuses answer in Bedrock's shape.
func TestConverseSteering(t *testing.T) {
	clk := newFakeClock()
	_, base := startMock(t, Options{}, clk)
	sig := map[string]string{"Authorization": testSigV4, "X-Mock-Latency": "250"}

	_, body := do(t, "POST", base+"/model/m/converse", sig, converseBody)
	if got := gjson.Get(body, "metrics.latencyMs").Int(); got != 250 {
		t.Errorf("latencyMs %d, want 250: %s", got, body)
	}
	_, raw, err := postStream(t, base+"/model/m/converse-stream", sig, converseBody)
	msgs, derr := converseEvents(raw)
	if err != nil || derr != nil || len(msgs) == 0 {
		t.Fatalf("stream: %v %v", err, derr)
	}
	if last := msgs[len(msgs)-1]; eventType(last) != "metadata" || gjson.GetBytes(last.Payload, "metrics.latencyMs").Int() != 250 {
		t.Errorf("stream metadata %s", last.Payload)
	}

	for _, tc := range []struct {
		name    string
		headers map[string]string
		status  int
		errType string
	}{
		{"unsigned, steered", map[string]string{"X-Mock-Status": "429"}, 403, "AccessDeniedException"},
		{"bearer", map[string]string{"Authorization": "Bearer abc"}, 403, "AccessDeniedException"},
		{"error rate", map[string]string{"Authorization": testSigV4, "X-Mock-Error-Rate": "100"}, 500, "InternalServerException"},
		{"forced 529", map[string]string{"Authorization": testSigV4, "X-Mock-Status": "529"}, 529, "ServiceUnavailableException"},
		{"bad steering", map[string]string{"Authorization": testSigV4, "X-Mock-Tokens": "many"}, 400, "ValidationException"},
		{"forced 201", map[string]string{"Authorization": testSigV4, "X-Mock-Status": "201"}, 201, ""},
	} {
		resp, body := do(t, "POST", base+"/model/m/converse", tc.headers, converseBody)
		errType, _, _ := strings.Cut(resp.Header.Get("X-Amzn-Errortype"), ":")
		if resp.StatusCode != tc.status || errType != tc.errType {
			t.Errorf("%s: %d %q %s", tc.name, resp.StatusCode, errType, body)
		}
		if tc.errType != "" && (!gjson.Get(body, "message").Exists() || strings.Contains(body, "Bearer abc")) {
			t.Errorf("%s: body %s", tc.name, body)
		}
		if tc.errType == "" && resp.Header.Get("X-Amzn-Requestid") == "" {
			t.Errorf("%s: no x-amzn-RequestId", tc.name)
		}
	}
}

// TestConverseValidation: requests Bedrock would refuse get a 400 ValidationException.
func TestConverseValidation(t *testing.T) {
	s, _ := New(Options{}, nil)
	msgs := `"messages":[{"role":"user","content":[{"text":"hi"}]}]`
	spec := `{"toolSpec":{"name":"a","inputSchema":{"json":{"type":"object"}}}}`
	for _, tc := range []struct{ body, contains string }{
		{`{}`, "Value null at 'messages'"},
		{`{"messages":{}}`, "'messages'"},
		{`{"inferenceConfig":{"maxTokens":"x"},` + msgs + `}`, "inferenceConfig.maxTokens"},
		{`{"toolConfig":{"tools":[{"cachePoint":{"type":"default"}}],"toolChoice":{"any":{}}},` + msgs + `}`, "needs at least one toolSpec"},
		{`{"toolConfig":{"tools":[` + spec + `],"toolChoice":{"tool":{}}},` + msgs + `}`, "toolChoice.tool.name"},
		{`{"toolConfig":{"tools":[` + spec + `],"toolChoice":{"tool":{"name":"b"}}},` + msgs + `}`, "'b'"},
		{`{"messages":`, "could not parse"},
	} {
		ctx := serveDirect(s.Handler(), "/model/m/converse", tc.body, "Authorization", testSigV4)
		if ctx.Response.StatusCode() != 400 || !strings.Contains(string(ctx.Response.Header.Peek("x-amzn-ErrorType")), "ValidationException") ||
			!strings.Contains(string(ctx.Response.Body()), tc.contains) {
			t.Errorf("%s: %d %s", tc.body, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	// Only POST; unknown actions are Bedrock's 404.
	var req fasthttp.Request
	req.SetRequestURI("/model/m/converse")
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, nil, nil)
	s.Handler()(ctx)
	if ctx.Response.StatusCode() != 405 || len(ctx.Response.Header.Peek("x-amzn-ErrorType")) == 0 {
		t.Errorf("GET: %d", ctx.Response.StatusCode())
	}
	ctx = serveDirect(s.Handler(), "/model/m/invoke-with-response-stream", `{}`, "Authorization", testSigV4)
	if ctx.Response.StatusCode() != 404 || !strings.HasPrefix(string(ctx.Response.Header.Peek("x-amzn-ErrorType")), "UnknownOperationException:") {
		t.Errorf("unknown action: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

// TestNewRoutesJournalAndMetrics: the new routes are journalled and counted under
// their own route names.
func TestNewRoutesJournalAndMetrics(t *testing.T) {
	s, base := startMock(t, Options{Journal: 10}, nil)
	sig := map[string]string{"Authorization": testSigV4}
	do(t, "POST", base+"/model/m/converse", sig, converseBody)
	postStream(t, base+"/model/m/converse-stream", sig, converseBody)
	do(t, "POST", base+"/model/m/converse", nil, converseBody)
	do(t, "POST", base+"/model/m/invoke", sig, `{}`)
	do(t, "POST", base+"/v1/messages/count_tokens", nil, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	do(t, "POST", base+"/v1beta/models/text-embedding-004:embedContent", nil, `{"content":{"parts":[{"text":"a"}]}}`)
	do(t, "POST", base+"/v1beta/models/text-embedding-004:batchEmbedContents", nil, `{"requests":[{"content":{"parts":[{"text":"a"}]}}]}`)
	_, body := do(t, "GET", base+"/metrics", nil, "")
	for _, want := range []string{
		`sluice_mock_requests_total{route="converse",status="200"} 2`,
		`sluice_mock_requests_total{route="converse",status="403"} 1`,
		`sluice_mock_requests_total{route="converse",status="404"} 1`,
		`sluice_mock_requests_total{route="count_tokens",status="200"} 1`,
		`sluice_mock_requests_total{route="gemini_embeddings",status="200"} 2`,
		"sluice_mock_open_streams 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	entries := s.Journal()
	var got []string
	for _, e := range entries {
		got = append(got, e.Path+" "+itoa(e.Status))
	}
	want := "/model/m/converse 200,/model/m/converse-stream 200,/model/m/converse 403,/model/m/invoke 404," +
		"/v1/messages/count_tokens 200,/v1beta/models/text-embedding-004:embedContent 200,/v1beta/models/text-embedding-004:batchEmbedContents 200"
	if strings.Join(got, ",") != want {
		t.Errorf("journal %v", got)
	}
}

func BenchmarkConverseNonStream(b *testing.B) {
	benchHandler(b, "/model/anthropic.claude-3-5-haiku-20241022-v1:0/converse", converseBody, "Authorization", testSigV4)
}

// BenchmarkConverseStreamStep is BenchmarkStreamStep for a Bedrock event stream: one
// contentBlockDelta message built and framed by the SDK's encoder, in its chunk.
func BenchmarkConverseStreamStep(b *testing.B) {
	s, err := New(Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	c := call{route: routeConverse, model: []byte(`"m"`), maxTokens: -1, st: defaultSteer(&s.opts), serial: 1, seed: 7}
	c.st.tokens = maxSteerTokens
	c.st.itl = time.Second
	c.plan(0)
	st := s.newStream(&c, 200, false)
	var x, y, frame []byte
	b.ReportAllocs()
	for b.Loop() {
		var end stepEnd
		x, y, end = st.step(x[:0], y[:0])
		frame = appendChunk(appendChunk(frame[:0], x), y)
		if end != stepMore {
			st.next, st.argPos = 0, 0
			st.c.tokens.reset()
		}
	}
	b.SetBytes(int64(len(frame)))
}
