package provider_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/mock"
	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/bedrock"
	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/gemini"
)

// The property of TestTranslateStreamMatchesReply on pairs the in-process
// mock serves, for the upstream formats whose request body does not change
// when it streams (Gemini and Bedrock put the stream in the URL): the mock
// seeds its content from the body, so the same body buffered and streamed
// gets the same text, or, with a forced tool choice, the same call. This
// also checks converseEvents' shapes against the mock's ConverseStream,
// framed by the AWS SDK's encoder and read by provider.NewEventStreamReader.
func TestTranslateMockPairs(t *testing.T) {
	m, err := mock.New(mock.Options{Listen: "127.0.0.1:0", Seed: 16, Tokens: 24}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := m.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	hc := &fasthttp.HostClient{Addr: addr, DisablePathNormalizing: true}
	signer := bedrock.NewSigner("us-east-1", bedrock.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"})

	send := func(t *testing.T, up xformat, r *canon.Request, stream bool, tokens int) []byte {
		t.Helper()
		body, err := up.codec().EncodeRequest(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod("POST")
		req.Header.SetContentType("application/json")
		req.Header.Set("X-Mock-Tokens", fmt.Sprint(tokens))
		req.Header.Set("X-Mock-Cached-Tokens", "3")
		if up.op == provider.OpConverse {
			req.SetRequestURI("http://" + addr + bedrock.UpstreamPath(r.Model, stream))
		} else {
			req.SetRequestURI("http://" + addr + gemini.UpstreamPath(r.Model, gemini.ActionGenerate, stream))
			req.Header.Set("x-goog-api-key", "test")
		}
		req.SetBody(body)
		if up.op == provider.OpConverse {
			if err := signer.Sign(req, body, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if err := hc.DoTimeout(req, resp, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
		}
		return bytes.Clone(resp.Body())
	}
	tool := canon.Tool{Name: "get_weather", Schema: `{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city","days"]}`}
	for _, up := range []xformat{xformats[3], xformats[4]} {
		for i := range 6 {
			forced := i%2 == 1
			t.Run(fmt.Sprintf("%s/%d", up.name, i), func(t *testing.T) {
				r := &canon.Request{Model: up.model, MaxTokens: 256,
					Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{{Kind: canon.PartText, Text: fmt.Sprintf("Tell me about city #%d.", i)}}}}}
				if forced {
					r.Tools, r.ToolChoice = []canon.Tool{tool}, canon.ToolChoice{Mode: canon.ToolNamed, Name: tool.Name, Set: true}
				}
				tokens := 8 + 5*i
				body := send(t, up, r, false, tokens)
				raw := send(t, up, r, true, tokens)
				var stream []rawEvent
				if up.op == provider.OpConverse {
					next := provider.NewEventStreamReader(bytes.NewReader(raw), 0)
					for {
						name, data, err := next()
						if errors.Is(err, io.EOF) {
							break
						}
						if err != nil {
							t.Fatal(err)
						}
						stream = append(stream, rawEvent{bytes.Clone(name), bytes.Clone(data)})
					}
				} else {
					stream = readSSE(t, raw)
				}
				for _, c := range clients() {
					got, err := compareStreamReply(c, up, body, stream)
					if err != nil {
						t.Fatalf("%s client: %v", c.name, err)
					}
					if forced && (len(got.Calls) != 1 || got.Calls[0].Name != tool.Name || got.Text != "") ||
						!forced && (len(got.Calls) != 0 || got.Text == "") {
						t.Fatalf("%s client reads %v", c.name, got)
					}
				}
			})
		}
	}
}
