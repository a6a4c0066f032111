package bedrock

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/mock"
	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// The whole upstream path against the in-process mock, which speaks
// Converse and ConverseStream and checks the SigV4 header's shape: a
// canonical request encoded, signed and sent by fasthttp as the gateway
// sends it (HostClient with DisablePathNormalizing), its reply and its
// event stream read back into canon.
func TestMockRoundTrip(t *testing.T) {
	srv, err := mock.New(mock.Options{Seed: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	hc := &fasthttp.HostClient{Addr: ln.Addr().String(), DisablePathNormalizing: true}
	signer := NewSigner("us-east-1", Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", SessionToken: "token"})
	model := "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"

	send := func(t *testing.T, r *canon.Request, stream bool) *fasthttp.Response {
		t.Helper()
		body, err := EncodeRequest(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		t.Cleanup(func() { fasthttp.ReleaseRequest(req) })
		req.Header.SetMethod("POST")
		req.SetRequestURI("http://" + hc.Addr + UpstreamPath(model, stream))
		req.Header.Set("X-Mock-Tokens", "5")
		req.SetBody(body)
		if err := signer.Sign(req, body, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := hc.DoTimeout(req, resp, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != 200 {
			e := DecodeError(resp.StatusCode(), resp.Body())
			t.Fatalf("status %d: %+v", resp.StatusCode(), e)
		}
		return resp
	}
	weather := canon.Tool{Name: "get_weather", Schema: weatherSchema}
	requests := map[string]canon.Request{
		"text": {Model: model, System: []canon.Part{text("Be brief.")}, MaxTokens: 64,
			Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{text("Say hello.")}}}},
		"tool": {Model: model, Tools: []canon.Tool{weather}, ToolChoice: canon.ToolChoice{Mode: canon.ToolRequired, Set: true},
			Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{text("Weather in Paris?")}}}},
	}
	for name, r := range requests {
		t.Run(name, func(t *testing.T) {
			var reply canon.Reply
			if err := DecodeReply(send(t, &r, false).Body(), &reply); err != nil {
				t.Fatal(err)
			}
			if len(reply.Parts) != 1 || !reply.Usage.Valid || reply.Usage.Input == 0 || reply.Usage.Output == 0 {
				t.Fatalf("reply %+v", reply)
			}
			wantStop, wantKind := canon.StopEnd, canon.PartText
			if name == "tool" {
				wantStop, wantKind = canon.StopTool, canon.PartToolCall
				if !isObject(reply.Parts[0].Args) || reply.Parts[0].Name != "get_weather" || reply.Parts[0].ID == "" {
					t.Fatalf("tool call %+v", reply.Parts[0])
				}
			}
			if reply.Stop.Reason != wantStop && reply.Stop.Reason != canon.StopLength || reply.Parts[0].Kind != wantKind {
				t.Fatalf("reply %+v", reply)
			}

			resp := send(t, &r, true)
			if ct := string(resp.Header.ContentType()); ct != "application/vnd.amazon.eventstream" {
				t.Fatalf("content type %q", ct)
			}
			events := decodeStream(t, resp.Body())
			var got strings.Builder
			for _, ev := range events {
				if ev.Kind == canon.EvDelta {
					got.WriteString(ev.Text)
				}
			}
			if events[len(events)-1].Kind != canon.EvEnd {
				t.Fatalf("stream ends with %d", events[len(events)-1].Kind)
			}
			var want string
			if name == "tool" {
				want = reply.Parts[0].Args
			} else {
				want = reply.Parts[0].Text
			}
			if got.String() != want {
				t.Fatalf("stream %q, reply %q", got.String(), want)
			}
		})
	}

	// The mock refuses an unsigned request the way Bedrock does.
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.Header.SetMethod("POST")
	req.SetRequestURI("http://" + hc.Addr + UpstreamPath(model, false))
	req.SetBodyString(`{"messages":[]}`)
	if err := hc.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if e := DecodeError(resp.StatusCode(), resp.Body()); e.Status != 403 || e.Type != canon.ErrPermission || e.Message == "" {
		t.Fatalf("unsigned: %+v", e)
	}
}
