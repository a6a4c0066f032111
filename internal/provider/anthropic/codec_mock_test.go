package anthropic

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/mock"
	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// TestCodecMock sends the encoder's requests to the repository's mock
// Anthropic backend and reads its replies, streams and errors with the
// codec's decoders.
func TestCodecMock(t *testing.T) {
	srv, err := mock.New(mock.Options{Listen: "127.0.0.1:0", Tokens: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	post := func(body []byte) (int, []byte) {
		t.Helper()
		res, err := http.Post("http://"+addr+"/v1/messages", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	codec := MessagesCodec()
	for name, r := range codecEncodeCases(t) {
		for _, stream := range []bool{false, true} {
			req := *r
			req.Stream = stream
			body, err := codec.EncodeRequest(nil, &req)
			if err != nil {
				t.Fatal(err)
			}
			status, reply := post(body)
			if status != http.StatusOK {
				t.Errorf("%s (stream %v): %d %s", name, stream, status, reply)
				continue
			}
			if !stream {
				var rep canon.Reply
				if err := codec.DecodeReply(reply, &rep); err != nil || len(rep.Parts) == 0 || !rep.Usage.Valid || rep.Stop.Reason == canon.StopNone {
					t.Errorf("%s: reply %+v, err %v", name, rep, err)
				}
				continue
			}
			events := codecDecodeStream(t, codecReadSSE(t, reply))
			codecCheckGrammar(t, events)
			if len(events) < 4 || events[len(events)-1].Kind != canon.EvEnd {
				t.Errorf("%s: stream events %+v", name, events)
			}
		}
	}
	status, reply := post([]byte(`{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`))
	if e := codec.DecodeError(status, reply); e.Type != canon.ErrInvalidRequest || e.Message == "" || e.Code != "invalid_request_error" {
		t.Errorf("error %+v from %d %s", e, status, reply)
	}
}
