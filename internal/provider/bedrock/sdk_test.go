package bedrock

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// The official SDK checks the shapes: it serializes requests this package
// must write alike, and deserializes the replies and streams the fixtures
// and test helpers hold.

// sdkClient returns a bedrockruntime client of a server that answers with
// reply (content type ctype) and records the request body in *body.
func sdkClient(t *testing.T, ctype string, reply []byte, body *[]byte) *bedrockruntime.Client {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		if body != nil {
			*body = b
		}
		mu.Unlock()
		w.Header().Set("Content-Type", ctype)
		_, _ = w.Write(reply)
	}))
	t.Cleanup(srv.Close)
	return bedrockruntime.New(bedrockruntime.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Retryer: aws.NopRetryer{},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
		}),
	})
}

// EncodeRequest writes what the SDK writes for the same request:
// decodeRequest reads the SDK's body into canon, and EncodeRequest must
// give back the same JSON value.
func TestEncodeRequestMatchesSDK(t *testing.T) {
	var sdkBody []byte
	client := sdkClient(t, "application/json", []byte(`{"output":{"message":{"role":"assistant","content":[]}},"stopReason":"end_turn","usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}`), &sdkBody)
	doc := func(v any) document.Interface { return document.NewLazyDocument(v) }
	png := []byte("\x89PNG\r\n\x1a\n....")
	cache := brtypes.CachePointBlock{Type: brtypes.CachePointTypeDefault}
	in := &bedrockruntime.ConverseInput{
		ModelId: aws.String(claude),
		System: []brtypes.SystemContentBlock{
			&brtypes.SystemContentBlockMemberText{Value: "Be brief."},
			&brtypes.SystemContentBlockMemberCachePoint{Value: brtypes.CachePointBlock{Type: brtypes.CachePointTypeDefault, Ttl: brtypes.CacheTTLOneHour}},
		},
		Messages: []brtypes.Message{
			{Role: brtypes.ConversationRoleUser, Content: []brtypes.ContentBlock{
				&brtypes.ContentBlockMemberText{Value: "Look:\n"},
				&brtypes.ContentBlockMemberImage{Value: brtypes.ImageBlock{Format: brtypes.ImageFormatPng, Source: &brtypes.ImageSourceMemberBytes{Value: png}}},
				&brtypes.ContentBlockMemberImage{Value: brtypes.ImageBlock{Format: brtypes.ImageFormatJpeg, Source: &brtypes.ImageSourceMemberS3Location{Value: brtypes.S3Location{Uri: aws.String("s3://b/k.jpg")}}}},
				&brtypes.ContentBlockMemberDocument{Value: brtypes.DocumentBlock{Format: brtypes.DocumentFormatPdf, Name: aws.String("Q3 report"), Source: &brtypes.DocumentSourceMemberBytes{Value: []byte("%PDF-1.4")}}},
				&brtypes.ContentBlockMemberCachePoint{Value: cache},
			}},
			{Role: brtypes.ConversationRoleAssistant, Content: []brtypes.ContentBlock{
				&brtypes.ContentBlockMemberReasoningContent{Value: &brtypes.ReasoningContentBlockMemberReasoningText{Value: brtypes.ReasoningTextBlock{Text: aws.String("hmm"), Signature: aws.String("sig")}}},
				&brtypes.ContentBlockMemberReasoningContent{Value: &brtypes.ReasoningContentBlockMemberRedactedContent{Value: []byte("opaque")}},
				&brtypes.ContentBlockMemberToolUse{Value: brtypes.ToolUseBlock{ToolUseId: aws.String("tu1"), Name: aws.String("get_weather"), Input: doc(map[string]any{"city": "Paris", "days": 2})}},
			}},
			{Role: brtypes.ConversationRoleUser, Content: []brtypes.ContentBlock{
				&brtypes.ContentBlockMemberToolResult{Value: brtypes.ToolResultBlock{ToolUseId: aws.String("tu1"), Status: brtypes.ToolResultStatusError, Content: []brtypes.ToolResultContentBlock{
					&brtypes.ToolResultContentBlockMemberText{Value: "failed"},
					&brtypes.ToolResultContentBlockMemberImage{Value: brtypes.ImageBlock{Format: brtypes.ImageFormatGif, Source: &brtypes.ImageSourceMemberBytes{Value: []byte("GIF89a")}}},
				}}},
				&brtypes.ContentBlockMemberText{Value: "Again?"},
			}},
		},
		InferenceConfig: &brtypes.InferenceConfiguration{MaxTokens: aws.Int32(2048), Temperature: aws.Float32(0.5), TopP: aws.Float32(0.25), StopSequences: []string{"END"}},
		ToolConfig: &brtypes.ToolConfiguration{
			Tools: []brtypes.Tool{
				&brtypes.ToolMemberToolSpec{Value: brtypes.ToolSpecification{Name: aws.String("get_weather"), Description: aws.String("Weather"),
					InputSchema: &brtypes.ToolInputSchemaMemberJson{Value: doc(map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}})}, Strict: aws.Bool(true)}},
				&brtypes.ToolMemberCachePoint{Value: cache},
			},
			ToolChoice: &brtypes.ToolChoiceMemberAny{},
		},
		// No thinking here: Anthropic refuses it beside a forced tool and
		// sampling changes (the thinking golden case has its shape).
		AdditionalModelRequestFields: doc(map[string]any{"top_k": 10}),
		OutputConfig: &brtypes.OutputConfig{TextFormat: &brtypes.OutputFormat{Type: brtypes.OutputFormatTypeJsonSchema,
			Structure: &brtypes.OutputFormatStructureMemberJsonSchema{Value: brtypes.JsonSchemaDefinition{Name: aws.String("w"), Schema: aws.String(`{"type":"object"}`)}}}},
		RequestMetadata: map[string]string{"user": "u1"},
		ServiceTier:     &brtypes.ServiceTier{Type: brtypes.ServiceTierTypePriority},
	}
	if _, err := client.Converse(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	var r canon.Request
	if err := decodeRequest(sdkBody, claude, &r); err != nil {
		t.Fatal(err)
	}
	ours, err := EncodeRequest(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(t, ours, sdkBody) {
		t.Fatalf("ours:\n%s\nSDK:\n%s", pretty(t, ours), pretty(t, sdkBody))
	}
}

// The SDK reads every reply fixture, and what encodeReply writes, as
// DecodeReply reads them.
func TestSDKReadsReplies(t *testing.T) {
	for name, body := range replyFixtures(t) {
		var r canon.Reply
		if err := DecodeReply(body, &r); err != nil {
			t.Fatal(err)
		}
		for _, b := range [][]byte{body, encodeReply(nil, &r)} {
			out, err := sdkClient(t, "application/json", b, nil).Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(claude)})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got := sdkSummary(t, out.Output.(*brtypes.ConverseOutputMemberMessage).Value.Content, string(out.StopReason), out.Usage); got != ourSummary(r.Parts, r.Stop, r.Usage) {
				t.Errorf("%s:\n SDK %s\n ours %s", name, got, ourSummary(r.Parts, r.Stop, r.Usage))
			}
		}
	}
}

// sdkSummary and ourSummary render a reply's content the same way from the
// SDK's types and from canon.
func sdkSummary(t *testing.T, content []brtypes.ContentBlock, stop string, u *brtypes.TokenUsage) string {
	var b strings.Builder
	for _, c := range content {
		switch v := c.(type) {
		case *brtypes.ContentBlockMemberText:
			b.WriteString("text:" + v.Value + "|")
		case *brtypes.ContentBlockMemberToolUse:
			in, err := v.Value.Input.(interface{ MarshalSmithyDocument() ([]byte, error) }).MarshalSmithyDocument()
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString("tool:" + aws.ToString(v.Value.ToolUseId) + "," + aws.ToString(v.Value.Name) + "," + compact(t, in) + "|")
		case *brtypes.ContentBlockMemberReasoningContent:
			switch rv := v.Value.(type) {
			case *brtypes.ReasoningContentBlockMemberReasoningText:
				b.WriteString("think:" + aws.ToString(rv.Value.Text) + "," + aws.ToString(rv.Value.Signature) + "|")
			case *brtypes.ReasoningContentBlockMemberRedactedContent:
				b.WriteString("redacted:" + string(rv.Value) + "|")
			}
		}
	}
	in := int64(aws.ToInt32(u.InputTokens)) + int64(aws.ToInt32(u.CacheReadInputTokens)) + int64(aws.ToInt32(u.CacheWriteInputTokens))
	return b.String() + "stop:" + stop + "|usage:" + itoa(in) + "," + itoa(int64(aws.ToInt32(u.OutputTokens))) + "," +
		itoa(int64(aws.ToInt32(u.CacheReadInputTokens))) + "," + itoa(int64(aws.ToInt32(u.CacheWriteInputTokens)))
}

func ourSummary(parts []canon.Part, stop canon.Stop, u canon.Usage) string {
	var b strings.Builder
	for _, p := range parts {
		switch {
		case p.Kind == canon.PartText:
			b.WriteString("text:" + p.Text + "|")
		case p.Kind == canon.PartToolCall:
			b.WriteString("tool:" + p.ID + "," + p.Name + "," + p.Args + "|")
		case p.Redacted != "":
			raw, _ := base64Decode(p.Redacted)
			b.WriteString("redacted:" + raw + "|")
		default:
			b.WriteString("think:" + p.Text + "," + p.Signature + "|")
		}
	}
	return b.String() + "stop:" + stopReason(stop) + "|usage:" + itoa(u.Input) + "," + itoa(u.Output) + "," + itoa(u.CacheRead) + "," + itoa(u.CacheWrite)
}

func compact(t *testing.T, b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// The SDK reads every stream fixture, and what streamEncoder writes, event
// by event, to the same text, tool input, stop and usage as NewDecoder.
func TestSDKReadsStreams(t *testing.T) {
	for name, stream := range streamFixtures(t) {
		t.Run(name, func(t *testing.T) {
			events := decodeStream(t, stream)
			ours := ourStreamSummary(events)
			if got := sdkStreamSummary(t, stream); got != ours {
				t.Fatalf("\n SDK %s\nours %s", got, ours)
			}
			var (
				enc    streamEncoder
				frames canon.Frames
			)
			frames.Reset()
			for i := range events {
				enc.Encode(&frames, &events[i])
			}
			var encoded []byte
			for i := 0; i < frames.Len(); i++ {
				n, d := frames.At(i)
				if isError(n) {
					encoded = append(encoded, esException(t, string(n), string(d))...)
				} else {
					encoded = append(encoded, esEvent(t, string(n), string(d))...)
				}
			}
			if got := sdkStreamSummary(t, encoded); got != ours {
				t.Fatalf("encoded:\n SDK %s\nours %s", got, ours)
			}
		})
	}
}

// sdkStreamSummary reads stream with the SDK's ConverseStream client.
func sdkStreamSummary(t *testing.T, stream []byte) string {
	out, err := sdkClient(t, "application/vnd.amazon.eventstream", stream, nil).ConverseStream(context.Background(),
		&bedrockruntime.ConverseStreamInput{ModelId: aws.String(claude)})
	if err != nil {
		t.Fatal(err)
	}
	st := out.GetStream()
	defer st.Close()
	var b strings.Builder
	for ev := range st.Events() {
		switch v := ev.(type) {
		case *brtypes.ConverseStreamOutputMemberContentBlockStart:
			if tu, ok := v.Value.Start.(*brtypes.ContentBlockStartMemberToolUse); ok {
				b.WriteString("[tool " + aws.ToString(tu.Value.ToolUseId) + " " + aws.ToString(tu.Value.Name) + "]")
			}
		case *brtypes.ConverseStreamOutputMemberContentBlockDelta:
			switch d := v.Value.Delta.(type) {
			case *brtypes.ContentBlockDeltaMemberText:
				b.WriteString(d.Value)
			case *brtypes.ContentBlockDeltaMemberToolUse:
				b.WriteString(aws.ToString(d.Value.Input))
			case *brtypes.ContentBlockDeltaMemberReasoningContent:
				switch r := d.Value.(type) {
				case *brtypes.ReasoningContentBlockDeltaMemberText:
					b.WriteString(r.Value)
				case *brtypes.ReasoningContentBlockDeltaMemberSignature:
					b.WriteString("[sig " + r.Value + "]")
				case *brtypes.ReasoningContentBlockDeltaMemberRedactedContent:
					b.WriteString("[redacted " + string(r.Value) + "]")
				}
			}
		case *brtypes.ConverseStreamOutputMemberMessageStop:
			b.WriteString("[stop " + string(v.Value.StopReason) + "]")
		case *brtypes.ConverseStreamOutputMemberMetadata:
			u := v.Value.Usage
			b.WriteString("[usage " + itoa(int64(aws.ToInt32(u.InputTokens)+aws.ToInt32(u.CacheReadInputTokens)+aws.ToInt32(u.CacheWriteInputTokens))) + " " + itoa(int64(aws.ToInt32(u.OutputTokens))) + "]")
		}
	}
	if err := st.Err(); err != nil {
		b.WriteString("[error]")
	}
	return b.String()
}

func ourStreamSummary(events []canon.Event) string {
	var b strings.Builder
	for _, ev := range events {
		switch ev.Kind {
		case canon.EvPartStart:
			if ev.Part.Kind == canon.PartToolCall {
				b.WriteString("[tool " + ev.Part.ID + " " + ev.Part.Name + "]")
			} else if ev.Part.Redacted != "" {
				raw, _ := base64Decode(ev.Part.Redacted)
				b.WriteString("[redacted " + raw + "]")
			}
		case canon.EvDelta:
			if ev.Signature != "" {
				b.WriteString("[sig " + ev.Signature + "]")
			}
			b.WriteString(ev.Text)
		case canon.EvStop:
			b.WriteString("[stop " + ev.Stop.Raw + "]")
		case canon.EvUsage:
			b.WriteString("[usage " + itoa(ev.Usage.Input) + " " + itoa(ev.Usage.Output) + "]")
		case canon.EvError:
			b.WriteString("[error]")
		}
	}
	return b.String()
}
