package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

const embedTestdata = "testdata/embed_codec"

func TestEmbedRequestGolden(t *testing.T) {
	codec := EmbedCodec()
	for _, path := range chatFiles(t, embedTestdata, ".json") {
		if !strings.HasPrefix(filepath.Base(path), "request") {
			continue
		}
		name := strings.TrimSuffix(path, ".json")
		t.Run(filepath.Base(name), func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var r canon.EmbedRequest
			if err := codec.DecodeRequest(body, &r); err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			chatGolden(t, name+".canon.json", chatDump(t, &r))
			up, err := codec.EncodeRequest(nil, &r)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			chatGolden(t, name+".upstream.json", chatIndent(t, up))
			var back canon.EmbedRequest
			if err := codec.DecodeRequest(up, &back); err != nil {
				t.Fatalf("DecodeRequest(upstream body): %v", err)
			}
			want := r
			want.Base64, want.TaskType = true, "" // the encoder always asks for base64
			if !reflect.DeepEqual(back, want) {
				t.Errorf("round trip: got %+v, want %+v", back, want)
			}
		})
	}
}

func TestEmbedReplyGolden(t *testing.T) {
	codec := EmbedCodec()
	for _, path := range chatFiles(t, embedTestdata, ".json") {
		if !strings.HasPrefix(filepath.Base(path), "reply") {
			continue
		}
		name := strings.TrimSuffix(path, ".json")
		t.Run(filepath.Base(name), func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var r canon.EmbedReply
			if err := codec.DecodeReply(body, &r); err != nil {
				t.Fatalf("DecodeReply: %v", err)
			}
			chatGolden(t, name+".canon.json", chatDump(t, &r))
			for _, b64 := range []bool{false, true} {
				req := &canon.EmbedRequest{Model: "asked", Base64: b64}
				out := codec.EncodeReply(nil, &r, req)
				suffix := ".client_float.json"
				if b64 {
					suffix = ".client_base64.json"
				}
				chatGolden(t, name+suffix, chatIndent(t, out))
				var back canon.EmbedReply
				if err := codec.DecodeReply(out, &back); err != nil {
					t.Fatalf("DecodeReply(client body): %v", err)
				}
				if !reflect.DeepEqual(back, r) {
					t.Errorf("base64 %v round trip: got %+v, want %+v", b64, back, r)
				}
				// The SDK reads the float form.
				if !b64 {
					var list oai.CreateEmbeddingResponse
					if err := json.Unmarshal(out, &list); err != nil {
						t.Fatal(err)
					}
					if len(list.Data) != len(r.Vectors) || list.Usage.PromptTokens != r.Usage.Input || float32(list.Data[0].Embedding[0]) != r.Vectors[0][0] {
						t.Errorf("SDK read %+v", list)
					}
				}
			}
		})
	}
}

func TestEmbedDecodeRequestErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, field string }{
		{"not json", `{`, ""},
		{"no input", `{"model":"m"}`, "input"},
		{"empty input", `{"model":"m","input":[]}`, "input"},
		{"token ids", `{"model":"m","input":[1,2,3]}`, "input"},
		{"token id arrays", `{"model":"m","input":["a",[1,2]]}`, "input[1]"},
		{"object input", `{"model":"m","input":["a",{}]}`, "input[1]"},
		{"encoding", `{"model":"m","input":"a","encoding_format":"int8"}`, "encoding_format"},
		{"dimensions", `{"model":"m","input":"a","dimensions":0}`, "dimensions"},
		{"unknown", `{"model":"m","input":"a","truncate":true}`, `"truncate"`},
		{"model type", `{"model":1,"input":"a"}`, "model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r canon.EmbedRequest
			err := EmbedCodec().DecodeRequest([]byte(tc.body), &r)
			if tc.field == "" {
				if !errors.Is(err, canon.ErrInvalidJSON) {
					t.Fatalf("err = %v, want ErrInvalidJSON", err)
				}
				return
			}
			var fe *canon.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("err = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
	if _, err := EmbedCodec().EncodeRequest(nil, &canon.EmbedRequest{Model: "m"}); err == nil {
		t.Error("EncodeRequest with no input succeeded")
	}
}

func TestEmbedDecodeReplyErrors(t *testing.T) {
	for _, body := range []string{
		`{"data":[{"embedding":"not base64!"}]}`,
		`{"data":[{"embedding":"AAAA"}]}`, // 3 bytes: not whole float32s
		`{"data":[{"embedding":[1,"x"]}]}`,
		`{"data":[{"embedding":{}}]}`,
		`[]`,
		`{`,
	} {
		var r canon.EmbedReply
		if err := EmbedCodec().DecodeReply([]byte(body), &r); err == nil {
			t.Errorf("DecodeReply(%s) succeeded: %+v", body, r)
		}
	}
	// The memory of a reply's vectors is reused.
	var r canon.EmbedReply
	body := []byte(`{"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[3]}]}`)
	if err := EmbedCodec().DecodeReply(body, &r); err != nil {
		t.Fatal(err)
	}
	first := &r.Vectors[0][0]
	if err := EmbedCodec().DecodeReply([]byte(`{"data":[{"embedding":[5,6]}]}`), &r); err != nil {
		t.Fatal(err)
	}
	if &r.Vectors[0][0] != first || len(r.Vectors) != 1 || r.Vectors[0][1] != 6 {
		t.Errorf("vectors %v not decoded in place", r.Vectors)
	}
	if out := EmbedCodec().EncodeReply(nil, &r, nil); !bytes.Contains(out, []byte(`"embedding":[5,6]`)) {
		t.Errorf("EncodeReply = %s", out)
	}
}
