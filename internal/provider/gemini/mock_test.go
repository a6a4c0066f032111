package gemini

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/sluice-gw/sluice/internal/mock"
	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// TestMock sends the encoders' requests to the in-process mock, which
// validates them as Gemini does, and decodes its replies, streams and
// errors.
func TestMock(t *testing.T) {
	m, err := mock.New(mock.Options{Listen: "127.0.0.1:0", Echo: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := m.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	base := "http://" + addr
	post := func(url string, body []byte, hdr ...string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	c := GenerateCodec()

	t.Run("tool call", func(t *testing.T) {
		r := openAIStyle("gemini-2.5-flash")
		r.Format = canon.ResponseFormat{}
		body, err := c.EncodeRequest(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		status, b := post(UpstreamURL(base, r.Model, ActionGenerate, false), body)
		var rep canon.Reply
		if err := c.DecodeReply(b, &rep); status != 200 || err != nil {
			t.Fatalf("status %d, %v: %s", status, err, b)
		}
		if len(rep.Parts) != 1 || rep.Parts[0].Kind != canon.PartToolCall || rep.Parts[0].Name != "f" || rep.Stop.Reason != canon.StopTool || !rep.Usage.Valid {
			t.Errorf("reply %+v", rep)
		}
	})

	t.Run("stream", func(t *testing.T) {
		r := &canon.Request{Model: "gemini-2.0-flash", Stream: true, MaxTokens: 5,
			Messages: []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{{Kind: canon.PartText, Text: "one two three four five six"}}}}}
		body, _ := c.EncodeRequest(nil, r)
		status, b := post(UpstreamURL(base+"/v1beta", r.Model, ActionGenerate, true), body)
		if status != 200 {
			t.Fatalf("status %d: %s", status, b)
		}
		evs := decodeStream(t, readSSE(t, b))
		checkGrammar(t, evs)
		text := ""
		var stop canon.Stop
		var usage canon.Usage
		for _, ev := range evs {
			switch ev.Kind {
			case canon.EvDelta:
				text += ev.Text
			case canon.EvStop:
				stop = ev.Stop
			case canon.EvUsage:
				usage = ev.Usage
			}
		}
		if text != "one two three four five" || stop.Reason != canon.StopLength || usage.Output != 5 {
			t.Errorf("text %q, stop %+v, usage %+v", text, stop, usage)
		}
	})

	t.Run("embeddings", func(t *testing.T) {
		ec := EmbedCodec()
		for _, n := range []int{1, 3} {
			r := &canon.EmbedRequest{Model: "gemini-embedding-001", Dimensions: 4, Inputs: []string{"a", "b", "c"}[:n]}
			body, err := ec.EncodeRequest(nil, r)
			if err != nil {
				t.Fatal(err)
			}
			status, b := post(UpstreamURL(base, r.Model, EmbedAction(n), false), body)
			var rep canon.EmbedReply
			if err := ec.DecodeReply(b, &rep); status != 200 || err != nil || len(rep.Vectors) != n || len(rep.Vectors[0]) != 4 {
				t.Errorf("%d inputs: status %d, %v, %+v", n, status, err, rep)
			}
		}
	})

	t.Run("error", func(t *testing.T) {
		body, _ := c.EncodeRequest(nil, openAIStyle("gemini-2.5-flash"))
		status, b := post(UpstreamURL(base, "gemini-2.5-flash", ActionGenerate, false), body, "X-Mock-Status", "429")
		if e := c.DecodeError(status, b); e.Type != canon.ErrRateLimit || e.Code != "RESOURCE_EXHAUSTED" || e.Message == "" {
			t.Errorf("status %d: %+v", status, e)
		}
	})
}
