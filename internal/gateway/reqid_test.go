package gateway_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
)

func TestAnthropicSDKRequestID(t *testing.T) {
	// Anthropic's SDKs report the request-id header as a reply's request
	// id: the upstream's when an upstream answered, else Sluice's own.
	s := newStack(t, nil)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("request-id", "req_upstream_refusal")
		w.WriteHeader(400)
		fmt.Fprint(w, `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens is too large"}}`)
	}))
	t.Cleanup(up.Close)
	refusing := newStackYAML(t, map[string]string{"SPLIT": up.URL}, guardConfig)
	params := func(model string) anthropic.MessageNewParams {
		return anthropic.MessageNewParams{
			Model: anthropic.Model(model), MaxTokens: 32,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello Claude"))},
		}
	}
	apiError := func(t *testing.T, err error) *anthropic.Error {
		t.Helper()
		var ae *anthropic.Error
		if !errors.As(err, &ae) {
			t.Fatalf("error %v is not the SDK's API error", err)
		}
		return ae
	}

	t.Run("reply", func(t *testing.T) {
		var resp *http.Response
		c := anthropicClient(s)
		if _, err := c.Messages.New(testCtx(t), params("claude-3-5-haiku"), aoption.WithResponseInto(&resp)); err != nil {
			t.Fatal(err)
		}
		id, upID := resp.Header.Get("Request-Id"), resp.Header.Get("X-Upstream-Request-Id")
		if id == "" || id != upID || id == resp.Header.Get("X-Request-Id") {
			t.Errorf("request-id %q, x-upstream-request-id %q, x-request-id %q", id, upID, resp.Header.Get("X-Request-Id"))
		}
	})
	t.Run("upstream error reply", func(t *testing.T) {
		c := anthropicClient(refusing, aoption.WithAPIKey("sk-plain"))
		_, err := c.Messages.New(testCtx(t), params("split-anthropic"))
		if ae := apiError(t, err); ae.StatusCode != 400 || ae.RequestID != "req_upstream_refusal" {
			t.Errorf("status %d, request id %q; want the upstream's", ae.StatusCode, ae.RequestID)
		}
	})
	t.Run("error event mid-stream", func(t *testing.T) {
		c := anthropicClient(s, aoption.WithHeader("X-Mock-Disconnect-After", "3"))
		stream := c.Messages.NewStreaming(testCtx(t), params("claude-3-5-haiku"))
		for stream.Next() {
		}
		ae := apiError(t, stream.Err())
		if ae.RequestID == "" || ae.RequestID != ae.Response.Header.Get("X-Upstream-Request-Id") {
			t.Errorf("request id %q, x-upstream-request-id %q", ae.RequestID, ae.Response.Header.Get("X-Upstream-Request-Id"))
		}
	})
	t.Run("Sluice's own error", func(t *testing.T) {
		c := anthropicClient(s)
		_, err := c.Messages.New(testCtx(t), params("no-such-model"))
		ae := apiError(t, err)
		if ae.StatusCode != 404 || ae.RequestID == "" || ae.RequestID != ae.Response.Header.Get("X-Request-Id") {
			t.Errorf("status %d, request id %q, x-request-id %q", ae.StatusCode, ae.RequestID, ae.Response.Header.Get("X-Request-Id"))
		}
	})
}

func TestOpenAICallersKeepXRequestID(t *testing.T) {
	// OpenAI's id header is x-request-id, Sluice's own by contract: the
	// upstream's id is in x-upstream-request-id only, and no request-id.
	s := newStack(t, nil)
	resp, body := s.post(t, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"X-Request-Id": "client-id-7"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-Request-Id"); got != "client-id-7" {
		t.Errorf("x-request-id = %q", got)
	}
	if up := resp.Header.Get("X-Upstream-Request-Id"); up == "" || up == "client-id-7" {
		t.Errorf("x-upstream-request-id = %q", up)
	}
	if got := resp.Header.Values("Request-Id"); len(got) > 0 {
		t.Errorf("request-id set for an OpenAI caller: %q", got)
	}
}
