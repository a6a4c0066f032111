package bedrock

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

func replyFixtures(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/replies/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no reply fixtures: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = b
	}
	return out
}

func TestDecodeReplyGolden(t *testing.T) {
	for name, body := range replyFixtures(t) {
		t.Run(name, func(t *testing.T) {
			var r canon.Reply
			if err := DecodeReply(body, &r); err != nil {
				t.Fatal(err)
			}
			golden(t, "decode_reply/"+name+".json", dump(t, &r))
			enc := encodeReply(nil, &r)
			golden(t, "encode_reply/"+name+".json", pretty(t, enc))
			var back canon.Reply
			if err := DecodeReply(enc, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&r, &back) {
				t.Fatalf("round trip\n got %s\nwant %s", dump(t, &back), dump(t, &r))
			}
		})
	}
}

func TestDecodeReplyUsage(t *testing.T) {
	var r canon.Reply
	if err := DecodeReply(replyFixtures(t)["thinking"], &r); err != nil {
		t.Fatal(err)
	}
	// inputTokens (12) leaves out the cache reads (2048) and writes (1500).
	want := canon.Usage{CacheWrite1h: 1200}
	want.Input, want.Output, want.CacheRead, want.CacheWrite, want.Valid = 12+2048+1500, 240, 2048, 1500, true
	if r.Usage != want {
		t.Fatalf("usage %+v, want %+v", r.Usage, want)
	}
}

func TestDecodeReplyErrors(t *testing.T) {
	var r canon.Reply
	if err := DecodeReply([]byte(`{"output":`), &r); err != canon.ErrInvalidJSON {
		t.Fatalf("truncated: %v", err)
	}
	if err := DecodeReply([]byte(`{"message":"x"}`), &r); !errors.Is(err, errNoOutput) {
		t.Fatalf("no output: %v", err)
	}
	// Strings are copied out of the body, which the gateway reuses.
	body := []byte(`{"output":{"message":{"content":[{"text":"abc"},{"toolUse":{"toolUseId":"t","name":"n","input":{"a":1}}}]}},"stopReason":"end_turn"}`)
	if err := DecodeReply(body, &r); err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'X'
	}
	if r.Parts[0].Text != "abc" || r.Parts[1].Args != `{"a":1}` || r.Parts[1].ID != "t" || r.Stop.Raw != "end_turn" {
		t.Fatalf("views into the body: %+v %+v", r.Parts, r.Stop)
	}
}

func TestStopReasons(t *testing.T) {
	for _, raw := range []string{"end_turn", "tool_use", "max_tokens", "stop_sequence", "guardrail_intervened",
		"content_filtered", "model_context_window_exceeded", "malformed_model_output", "malformed_tool_use"} {
		s := stopOf(raw)
		if got := stopReason(s); got != raw && s.Reason != canon.StopEnd {
			t.Errorf("%s → %v → %s", raw, s.Reason, got)
		}
	}
	if got := stopReason(canon.Stop{Reason: canon.StopPause}); got != "end_turn" {
		t.Errorf("pause → %s", got)
	}
	if got := stopReason(canon.Stop{Reason: canon.StopFilter, Raw: "refusal"}); got != "content_filtered" {
		t.Errorf("refusal → %s", got)
	}
}

func TestDecodeError(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   canon.Error
	}{
		{400, `{"message":"1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"}`,
			canon.Error{Status: 400, Type: canon.ErrInvalidRequest, Code: "ValidationException", Param: "inferenceConfig.maxTokens",
				Message: "1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"}},
		{403, `{"Message":"User is not authorized"}`, canon.Error{Status: 403, Type: canon.ErrPermission, Code: "AccessDeniedException", Message: "User is not authorized"}},
		{404, `{"message":"Model not found"}`, canon.Error{Status: 404, Type: canon.ErrNotFound, Code: "ResourceNotFoundException", Message: "Model not found"}},
		{408, `{"message":"Model has timed out"}`, canon.Error{Status: 408, Type: canon.ErrTimeout, Code: "ModelTimeoutException", Message: "Model has timed out"}},
		{424, `{"message":"model error","originalStatusCode":500}`, canon.Error{Status: 424, Type: canon.ErrAPI, Code: "ModelErrorException", Message: "model error"}},
		{429, `{"message":"Too many requests, please wait before trying again."}`, canon.Error{Status: 429, Type: canon.ErrRateLimit, Code: "ThrottlingException", Message: "Too many requests, please wait before trying again."}},
		{500, `{"message":"Internal"}`, canon.Error{Status: 500, Type: canon.ErrAPI, Code: "InternalServerException", Message: "Internal"}},
		{503, `{"message":"Bedrock is unable to process your request."}`, canon.Error{Status: 503, Type: canon.ErrOverloaded, Code: "ServiceUnavailableException", Message: "Bedrock is unable to process your request."}},
		{400, `{"__type":"com.amazon.coral.service#ServiceQuotaExceededException","message":"quota"}`, canon.Error{Status: 400, Type: canon.ErrInvalidRequest, Code: "ServiceQuotaExceededException", Message: "quota"}},
		{401, `{"code":"UnrecognizedClientException:http://internal.amazon.com/coral/","message":"bad token"}`, canon.Error{Status: 401, Type: canon.ErrAuthentication, Code: "UnrecognizedClientException", Message: "bad token"}},
		{502, `<html>bad gateway</html>`, canon.Error{Status: 502, Type: canon.ErrAPI, Message: "bedrock answered status 502 with an error body that is not a JSON object"}},
		{400, `{}`, canon.Error{Status: 400, Type: canon.ErrInvalidRequest, Code: "ValidationException", Message: "bedrock answered status 400 without an error message"}},
	}
	for _, tt := range tests {
		if got := DecodeError(tt.status, []byte(tt.body)); got != tt.want {
			t.Errorf("%d %s:\n got %+v\nwant %+v", tt.status, tt.body, got, tt.want)
		}
	}
}
