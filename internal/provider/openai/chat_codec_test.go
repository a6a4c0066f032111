package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

const chatTestdata = "testdata/chat_codec"

// TestChatRequestGolden decodes each client request, encodes it for an
// upstream, and checks both against golden files and that decoding the
// upstream body gives back what the format carries.
func TestChatRequestGolden(t *testing.T) {
	codec := ChatCodec()
	for _, path := range chatFiles(t, filepath.Join(chatTestdata, "requests"), ".json") {
		name := strings.TrimSuffix(path, ".json")
		t.Run(filepath.Base(name), func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var r canon.Request
			if err := codec.DecodeRequest(body, &r); err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			chatGolden(t, name+".canon.json", chatDump(t, &r))
			up, err := codec.EncodeRequest(nil, &r)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			chatGolden(t, name+".upstream.json", chatIndent(t, up))

			var back canon.Request
			if err := codec.DecodeRequest(up, &back); err != nil {
				t.Fatalf("DecodeRequest(upstream body): %v", err)
			}
			want := chatCarried(&r)
			if got, w := chatDump(t, &back), chatDump(t, want); !bytes.Equal(got, w) {
				t.Errorf("round trip:\n got: %s\nwant: %s", got, w)
			}
		})
	}
}

// TestChatEncodeGolden encodes canonical requests such as other formats'
// decoders produce (cache breakpoints, thinking, tool results with images,
// documents) for an upstream.
func TestChatEncodeGolden(t *testing.T) {
	codec := ChatCodec()
	for _, path := range chatFiles(t, filepath.Join(chatTestdata, "canon"), ".json") {
		name := strings.TrimSuffix(path, ".json")
		t.Run(filepath.Base(name), func(t *testing.T) {
			r := chatLoadCanon(t, path)
			up, err := codec.EncodeRequest([]byte("prefix"), r)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			if !bytes.HasPrefix(up, []byte("prefix")) {
				t.Fatal("EncodeRequest did not append to dst")
			}
			up = up[len("prefix"):]
			chatGolden(t, name+".upstream.json", chatIndent(t, up))
			var back canon.Request
			if err := codec.DecodeRequest(up, &back); err != nil {
				t.Fatalf("DecodeRequest(upstream body): %v", err)
			}
		})
	}
}

// chatCarried returns what decoding r's upstream body gives back: r less
// what the encoder drops or changes by its documented rules.
func chatCarried(r *canon.Request) *canon.Request {
	w := *r
	w.Messages = nil
	w.Tools = append([]canon.Tool(nil), r.Tools...)
	for i := range w.Tools {
		w.Tools[i].Cache = canon.Cache{}
	}
	if len(r.System) > 0 {
		var texts []string
		for _, p := range r.System {
			texts = append(texts, p.Text)
		}
		w.System = []canon.Part{{Kind: canon.PartText, Text: strings.Join(texts, "\n\n")}}
	}
	for _, m := range r.Messages {
		var parts []canon.Part
		if m.Role == canon.RoleAssistant {
			var refusal []string
			var calls []canon.Part
			for _, p := range m.Parts {
				p.Cache = canon.Cache{}
				switch p.Kind {
				case canon.PartText:
					parts = append(parts, p)
				case canon.PartRefusal:
					refusal = append(refusal, p.Text)
				case canon.PartToolCall:
					calls = append(calls, p)
				}
			}
			if refusal != nil {
				parts = append(parts, canon.Part{Kind: canon.PartRefusal, Text: strings.Join(refusal, "")})
			}
			parts = append(parts, calls...)
			if len(parts) == 0 {
				parts = []canon.Part{{Kind: canon.PartText}}
			}
		} else {
			for _, p := range m.Parts {
				p.Cache, p.IsError = canon.Cache{}, false
				parts = append(parts, p)
			}
		}
		w.Messages = append(w.Messages, canon.Message{Role: m.Role, Parts: parts})
	}
	w.TopK, w.N, w.IncludeUsage = nil, 0, r.Stream
	if w.Store != canon.TriTrue {
		w.Store, w.Metadata = canon.TriUnset, nil
	}
	w.Reasoning = canon.Reasoning{Effort: chatEffort(&r.Reasoning)}
	if len(w.Tools) == 0 {
		w.ToolChoice, w.ParallelTools = canon.ToolChoice{}, canon.TriUnset
	}
	if w.Format.Kind == canon.FormatJSONSchema && w.Format.Name == "" {
		w.Format.Name = "response"
	}
	return &w
}

func TestChatDecodeRequestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, field string
	}{
		{"not json", `{"model":`, ""},
		{"array", `[1]`, "body"},
		{"no messages", `{"model":"m"}`, "messages"},
		{"empty messages", `{"model":"m","messages":[]}`, "messages"},
		{"n", `{"messages":[{"role":"user","content":"x"}],"n":2}`, "n"},
		{"n zero", `{"messages":[{"role":"user","content":"x"}],"n":0}`, "n"},
		{"unknown field", `{"messages":[{"role":"user","content":"x"}],"frobnicate":1}`, `"frobnicate"`},
		{"logprobs", `{"messages":[{"role":"user","content":"x"}],"logprobs":true}`, "logprobs"},
		{"logit_bias", `{"messages":[{"role":"user","content":"x"}],"logit_bias":{"50256":-100}}`, "logit_bias"},
		{"audio out", `{"messages":[{"role":"user","content":"x"}],"audio":{"voice":"alloy","format":"wav"}}`, "audio"},
		{"modalities", `{"messages":[{"role":"user","content":"x"}],"modalities":["text","audio"]}`, "modalities"},
		{"web search", `{"messages":[{"role":"user","content":"x"}],"web_search_options":{}}`, "web_search_options"},
		{"functions", `{"messages":[{"role":"user","content":"x"}],"functions":[{"name":"f"}]}`, "functions"},
		{"temperature type", `{"messages":[{"role":"user","content":"x"}],"temperature":"hot"}`, "temperature"},
		{"max_tokens", `{"messages":[{"role":"user","content":"x"}],"max_tokens":1.5}`, "max_tokens"},
		{"stop type", `{"messages":[{"role":"user","content":"x"}],"stop":["a",1]}`, "stop[1]"},
		{"input audio", `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}]}`, "messages[0].content[0].type"},
		{"file id", `{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"file","file":{"file_id":"file-1"}}]}]}`, "messages[0].content[1].file.file_id"},
		{"bad data url", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/svg+xml,<svg/>"}}]}]}`, "messages[0].content[0].image_url.url"},
		{"unknown part", `{"messages":[{"role":"user","content":[{"type":"video"}]}]}`, "messages[0].content[0].type"},
		{"image in system", `{"messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x"}}]}]}`, "messages[0].content[0].type"},
		{"refusal in user", `{"messages":[{"role":"user","content":[{"type":"refusal","refusal":"no"}]}]}`, "messages[0].content[0].type"},
		{"function role", `{"messages":[{"role":"function","name":"f","content":"x"}]}`, "messages[0].role"},
		{"bad role", `{"messages":[{"role":"robot","content":"x"}]}`, "messages[0].role"},
		{"tool without id", `{"messages":[{"role":"tool","content":"x"}]}`, "messages[0].tool_call_id"},
		{"custom tool call", `{"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c","type":"custom","custom":{"name":"x","input":"y"}}]}]}`, "messages[1].tool_calls[0].type"},
		{"assistant audio", `{"messages":[{"role":"assistant","audio":{"id":"a1"}}]}`, "messages[0].audio"},
		{"custom tool", `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"custom","custom":{"name":"x"}}]}`, "tools[0].type"},
		{"tool no name", `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{}}]}`, "tools[0].function.name"},
		{"allowed tools", `{"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"allowed_tools","allowed_tools":{}}}`, "tool_choice.type"},
		{"tool choice string", `{"messages":[{"role":"user","content":"x"}],"tool_choice":"any"}`, "tool_choice"},
		{"format", `{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"xml"}}`, "response_format.type"},
		{"effort", `{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"max"}`, "reasoning_effort"},
		{"metadata", `{"messages":[{"role":"user","content":"x"}],"metadata":{"a":1}}`, `metadata."a"`},
		{"cache ttl", `{"messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral","ttl":5}}]}]}`, "messages[0].content[0].cache_control.ttl"},
		{"user content null", `{"messages":[{"role":"user","content":null}]}`, "messages[0].content"},
		{"system content null", `{"messages":[{"role":"developer"}]}`, "messages[0].content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r canon.Request
			err := ChatCodec().DecodeRequest([]byte(tc.body), &r)
			if tc.field == "" {
				if !errors.Is(err, canon.ErrInvalidJSON) {
					t.Fatalf("err = %v, want ErrInvalidJSON", err)
				}
				return
			}
			var fe *canon.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			if fe.Field != tc.field || fe.Msg == "" {
				t.Errorf("field = %q (%s), want %q", fe.Field, fe.Msg, tc.field)
			}
		})
	}
}

func TestChatEncodeRequestErrors(t *testing.T) {
	user := func(p canon.Part) []canon.Message {
		return []canon.Message{{Role: canon.RoleUser, Parts: []canon.Part{p}}}
	}
	for _, tc := range []struct {
		name  string
		r     canon.Request
		field string
	}{
		{"n", canon.Request{N: 3}, "n"},
		{"previous response", canon.Request{PreviousResponseID: "resp_1"}, "previous_response_id"},
		{"document url", canon.Request{Messages: user(canon.Part{Kind: canon.PartDocument, URL: "https://x/a.pdf"})}, "messages[0].content[0]"},
		{"bad text document", canon.Request{Messages: user(canon.Part{Kind: canon.PartDocument, MediaType: "text/plain", Data: "%%"})}, "messages[0].content[0]"},
		{"image without source", canon.Request{Messages: user(canon.Part{Kind: canon.PartImage})}, "messages[0].content[0]"},
		{"thinking in user", canon.Request{Messages: user(canon.Part{Kind: canon.PartThinking, Text: "x"})}, "messages[0].content[0]"},
		{"image in assistant", canon.Request{Messages: []canon.Message{{Role: canon.RoleAssistant, Parts: []canon.Part{{Kind: canon.PartImage, URL: "https://x"}}}}}, "messages[0].content[0]"},
		{"image in system", canon.Request{System: []canon.Part{{Kind: canon.PartImage, URL: "https://x"}}}, "system[0]"},
		{"bad schema", canon.Request{Tools: []canon.Tool{{Name: "f", Schema: "{"}}}, "tools[0].parameters"},
		{"bad format schema", canon.Request{Format: canon.ResponseFormat{Kind: canon.FormatJSONSchema, Schema: "nope"}}, "response_format.schema"},
		{"call in tool result", canon.Request{Messages: user(canon.Part{Kind: canon.PartToolResult, ID: "c", Content: []canon.Part{{Kind: canon.PartText}, {Kind: canon.PartToolCall}}})}, "messages[0].content[0].content[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("keep")
			out, err := ChatCodec().EncodeRequest(dst, &tc.r)
			var fe *canon.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			if fe.Field != tc.field {
				t.Errorf("field = %q (%s), want %q", fe.Field, fe.Msg, tc.field)
			}
			if string(out) != "keep" {
				t.Errorf("dst = %q after a refusal, want it as it was", out)
			}
		})
	}
}

// TestChatReplyGolden decodes upstream replies and encodes them for a
// client; decoding the client's body gives the reply back.
func TestChatReplyGolden(t *testing.T) {
	codec := ChatCodec()
	req := &canon.Request{Model: "asked-model"}
	for _, path := range chatFiles(t, filepath.Join(chatTestdata, "replies"), ".json") {
		name := strings.TrimSuffix(path, ".json")
		t.Run(filepath.Base(name), func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var r canon.Reply
			if err := codec.DecodeReply(body, &r); err != nil {
				t.Fatalf("DecodeReply: %v", err)
			}
			chatGolden(t, name+".canon.json", chatDump(t, &r))
			out := codec.EncodeReply(nil, &r, req)
			chatGolden(t, name+".client.json", chatIndent(t, out))
			var back canon.Reply
			if err := codec.DecodeReply(out, &back); err != nil {
				t.Fatalf("DecodeReply(client body): %v", err)
			}
			want := r
			want.Stop = chatStopOf(chatFinishReason(r.Stop, chatHasKind(r.Parts, canon.PartToolCall)))
			if got, w := chatDump(t, &back), chatDump(t, &want); !bytes.Equal(got, w) {
				t.Errorf("round trip:\n got: %s\nwant: %s", got, w)
			}
		})
	}
}

func TestChatDecodeReplyErrors(t *testing.T) {
	for _, tc := range []struct {
		body string
		want error
	}{
		{`{"id":`, canon.ErrInvalidJSON},
		{`"text"`, errChatNotObject},
		{`{"id":"x","choices":[]}`, errChatNoChoice},
		{`{"error":{"message":"boom"}}`, errChatIsError},
	} {
		var r canon.Reply
		if err := ChatCodec().DecodeReply([]byte(tc.body), &r); !errors.Is(err, tc.want) {
			t.Errorf("DecodeReply(%s) = %v, want %v", tc.body, err, tc.want)
		}
	}
}

func TestChatEncodeReplyDefaults(t *testing.T) {
	r := canon.Reply{Parts: []canon.Part{{Kind: canon.PartToolCall, ID: "toolu_1", Name: "f"}}, Stop: canon.Stop{Reason: canon.StopEnd}}
	out := ChatCodec().EncodeReply(nil, &r, &canon.Request{Model: "asked"})
	var v struct {
		ID      string
		Created int64
		Model   string
		Choices []struct {
			FinishReason string `json:"finish_reason"`
			Message      struct {
				Content   *string
				ToolCalls []struct{ Function struct{ Arguments string } } `json:"tool_calls"`
			}
		}
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	c := v.Choices[0]
	if !strings.HasPrefix(v.ID, "chatcmpl-") || v.Created == 0 || v.Model != "asked" || c.FinishReason != "tool_calls" ||
		c.Message.Content != nil || c.Message.ToolCalls[0].Function.Arguments != "{}" {
		t.Errorf("EncodeReply = %s", out)
	}
}

func TestChatDecodeError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   canon.Error
	}{
		{"openai", 429, `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
			canon.Error{Status: 429, Type: canon.ErrRateLimit, Message: "Rate limit reached", Code: "rate_limit_exceeded"}},
		{"param", 400, `{"error":{"message":"bad","type":"invalid_request_error","param":"messages[0]","code":null}}`,
			canon.Error{Status: 400, Type: canon.ErrInvalidRequest, Message: "bad", Param: "messages[0]", Code: "invalid_request_error"}},
		{"ollama", 404, `{"error":"model \"x\" not found"}`,
			canon.Error{Status: 404, Type: canon.ErrNotFound, Message: `model "x" not found`}},
		{"vllm", 400, `{"object":"error","message":"too long","type":"BadRequestError","param":null,"code":400}`,
			canon.Error{Status: 400, Type: canon.ErrInvalidRequest, Message: "too long", Code: "BadRequestError"}},
		{"fastapi", 422, `{"detail":"field required"}`,
			canon.Error{Status: 422, Type: canon.ErrInvalidRequest, Message: "field required"}},
		{"array", 503, `[{"error":{"message":"overloaded","code":"server_overloaded"}}]`,
			canon.Error{Status: 503, Type: canon.ErrOverloaded, Message: "overloaded", Code: "server_overloaded"}},
		{"bare string", 500, `"upstream exploded"`,
			canon.Error{Status: 500, Type: canon.ErrAPI, Message: "upstream exploded"}},
		{"html", 502, `<html>Bad Gateway</html>`,
			canon.Error{Status: 502, Type: canon.ErrAPI, Message: "upstream answered HTTP 502 with a body that is not an OpenAI error"}},
		{"empty", 401, ``,
			canon.Error{Status: 401, Type: canon.ErrAuthentication, Message: "upstream answered HTTP 401 with a body that is not an OpenAI error"}},
		{"in stream", 200, `{"error":{"message":"slow down","type":"tokens","code":null}}`,
			canon.Error{Status: 429, Type: canon.ErrRateLimit, Message: "slow down", Code: "tokens"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ChatCodec().DecodeError(tc.status, []byte(tc.body)); got != tc.want {
				t.Errorf("DecodeError = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestChatDataURL(t *testing.T) {
	for _, tc := range []struct {
		url, mt, data string
		ok            bool
	}{
		{"data:image/png;base64,iVBO", "image/png", "iVBO", true},
		{"data:image/jpeg;name=a.jpg;base64,/9j/", "image/jpeg", "/9j/", true},
		{"data:;base64,AAAA", "", "", false},
		{"data:image/svg+xml,<svg/>", "", "", false},
		{"data:image/png;base64", "", "", false},
		{"https://x/y.png", "", "", false},
	} {
		mt, data, ok := chatParseDataURL(tc.url)
		if mt != tc.mt || data != tc.data || ok != tc.ok {
			t.Errorf("chatParseDataURL(%q) = %q, %q, %v", tc.url, mt, data, ok)
		}
	}
	if got := string(chatAppendDataURL(nil, "image/png", "AB+/")); got != `"data:image/png;base64,AB+/"` {
		t.Errorf("chatAppendDataURL = %s", got)
	}
}

func TestChatEffort(t *testing.T) {
	for _, tc := range []struct {
		r    canon.Reasoning
		want string
	}{
		{canon.Reasoning{}, ""},
		{canon.Reasoning{Effort: "xhigh", Budget: 100}, "xhigh"},
		{canon.Reasoning{Disabled: true}, ""},
		{canon.Reasoning{Budget: 1024}, "low"},
		{canon.Reasoning{Budget: 4096}, "low"},
		{canon.Reasoning{Budget: 4097}, "medium"},
		{canon.Reasoning{Budget: 16384}, "medium"},
		{canon.Reasoning{Budget: 32000}, "high"},
	} {
		if got := chatEffort(&tc.r); got != tc.want {
			t.Errorf("chatEffort(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}
