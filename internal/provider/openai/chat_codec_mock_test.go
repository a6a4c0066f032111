package openai

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/mock"
	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// chatMock serves the in-process mock on a loopback port until the test
// ends and returns its base URL.
func chatMock(t *testing.T) string {
	t.Helper()
	s, err := mock.New(mock.Options{Listen: "127.0.0.1:0", Tokens: 12}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return "http://" + addr
}

func chatPost(t *testing.T, url string, body []byte) []byte {
	t.Helper()
	res, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("mock answered %d: %s\nto %s", res.StatusCode, out, body)
	}
	return out
}

// TestChatMock sends encoded requests to the mock's chat route and reads
// its replies and streams back.
func TestChatMock(t *testing.T) {
	base := chatMock(t)
	codec := ChatCodec()
	for _, stream := range []bool{false, true} {
		for _, tools := range []bool{false, true} {
			r := chatLoadCanon(t, filepath.Join(chatTestdata, "canon", "anthropic_like.json"))
			r.Stream = stream
			if !tools {
				r.Tools, r.ToolChoice = nil, canon.ToolChoice{}
			}
			body, err := codec.EncodeRequest(nil, r)
			if err != nil {
				t.Fatal(err)
			}
			out := chatPost(t, base+"/v1/chat/completions", body)
			var parts []canon.Part
			var stop canon.Stop
			var usage canon.Usage
			if !stream {
				var reply canon.Reply
				if err := codec.DecodeReply(out, &reply); err != nil {
					t.Fatalf("DecodeReply: %v\n%s", err, out)
				}
				parts, stop, usage = reply.Parts, reply.Stop, reply.Usage
			} else {
				evs, err := chatDecodeStream(t, out)
				if err != nil {
					t.Fatalf("stream: %v\n%s", err, out)
				}
				chatCheckGrammar(t, evs)
				for _, e := range evs {
					switch e.Kind {
					case "part_start":
						parts = append(parts, *e.Part)
					case "delta":
						if parts[len(parts)-1].Kind == canon.PartToolCall {
							parts[len(parts)-1].Args += e.Text
						} else {
							parts[len(parts)-1].Text += e.Text
						}
					case "stop":
						stop = *e.Stop
					case "usage":
						usage = *e.Usage
					}
				}
			}
			if tools {
				if len(parts) != 1 || parts[0].Kind != canon.PartToolCall || parts[0].Name == "" || parts[0].Args == "" || stop.Reason != canon.StopTool {
					t.Errorf("stream %v: tool reply %+v, stop %+v", stream, parts, stop)
				}
			} else if len(parts) != 1 || parts[0].Kind != canon.PartText || parts[0].Text == "" || stop.Reason != canon.StopEnd {
				t.Errorf("stream %v: text reply %+v, stop %+v", stream, parts, stop)
			}
			if !usage.Valid || usage.Input == 0 || usage.Output == 0 {
				t.Errorf("stream %v, tools %v: usage %+v (the encoder asks for it)", stream, tools, usage)
			}
		}
	}
}

// TestEmbedMock sends an encoded embeddings request to the mock, which
// answers base64, and checks the vectors against a float request's.
func TestEmbedMock(t *testing.T) {
	base := chatMock(t)
	codec := EmbedCodec()
	r := canon.EmbedRequest{Model: "text-embedding-3-small", Inputs: []string{"a", "b c"}, Dimensions: 7}
	body, err := codec.EncodeRequest(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	var b64 canon.EmbedReply
	if err := codec.DecodeReply(chatPost(t, base+"/v1/embeddings", body), &b64); err != nil {
		t.Fatal(err)
	}
	floatBody := bytes.Replace(body, []byte(`"base64"`), []byte(`"float"`), 1)
	var floats canon.EmbedReply
	if err := codec.DecodeReply(chatPost(t, base+"/v1/embeddings", floatBody), &floats); err != nil {
		t.Fatal(err)
	}
	if len(b64.Vectors) != 2 || len(b64.Vectors[1]) != 7 || !b64.Usage.Valid || b64.Usage.Input == 0 {
		t.Fatalf("reply %+v", b64)
	}
	for i, v := range b64.Vectors {
		var norm float64
		for j, x := range v {
			norm += float64(x) * float64(x)
			if x != floats.Vectors[i][j] {
				t.Errorf("vector %d[%d]: base64 %v, float %v", i, j, x, floats.Vectors[i][j])
			}
		}
		if math.Abs(norm-1) > 1e-5 {
			t.Errorf("vector %d has norm %v", i, norm)
		}
	}
}
