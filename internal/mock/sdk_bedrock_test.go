package mock

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// bedrockModel is a model id with the colon the SDK percent-encodes in the path.
const bedrockModel = "anthropic.claude-3-5-haiku-20241022-v1:0"

// bedrockClient is the official Bedrock runtime client pointed at the mock, signing
// with static credentials and never retrying. headers are added to every request.
func bedrockClient(base string, headers map[string]string) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(base),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDMOCKEXAMPLE", SecretAccessKey: "mock-secret"}, nil
		}),
		Retryer:    aws.NopRetryer{},
		HTTPClient: headerClient{headers},
	})
}

// headerClient sends with http.DefaultClient, adding headers after the SDK signed the
// request (steering headers stay unsigned, as a gateway would leave them).
type headerClient struct{ headers map[string]string }

func (h headerClient) Do(r *http.Request) (*http.Response, error) {
	for k, v := range h.headers {
		r.Header.Set(k, v)
	}
	return http.DefaultClient.Do(r)
}

func weatherTool() brtypes.Tool {
	return &brtypes.ToolMemberToolSpec{Value: brtypes.ToolSpecification{
		Name: aws.String("get_weather"),
		InputSchema: &brtypes.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(map[string]any{
			"type": "object", "properties": map[string]any{
				"city": map[string]any{"type": "string"}, "days": map[string]any{"type": "integer"},
			}, "required": []string{"city", "days"},
		})},
	}}
}

func converseInput() *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{
		ModelId: aws.String(bedrockModel),
		System:  []brtypes.SystemContentBlock{&brtypes.SystemContentBlockMemberText{Value: "Be brief."}},
		Messages: []brtypes.Message{{
			Role:    brtypes.ConversationRoleUser,
			Content: []brtypes.ContentBlock{&brtypes.ContentBlockMemberText{Value: "Hello there"}},
		}},
	}
}

// TestBedrockSDKConverse drives Converse and ConverseStream with the official client,
// text and a forced tool call, streams with both drivers; the mock's signature check
// accepts the SDK's SigV4 header, and the journal shows it.
func TestBedrockSDKConverse(t *testing.T) {
	for _, drv := range drivers {
		t.Run(drv.name, func(t *testing.T) {
			s, base := startMock(t, Options{Seed: 3, Journal: 8}, nil)
			client := bedrockClient(base, drv.headers)
			ctx := sdkCtx(t)

			out, err := client.Converse(ctx, converseInput())
			if err != nil {
				t.Fatal(err)
			}
			msg := out.Output.(*brtypes.ConverseOutputMemberMessage).Value
			text := msg.Content[0].(*brtypes.ContentBlockMemberText).Value
			if msg.Role != brtypes.ConversationRoleAssistant || len(strings.Fields(text)) != DefaultTokens || out.StopReason != brtypes.StopReasonEndTurn {
				t.Errorf("reply %+v %q %s", msg, text, out.StopReason)
			}
			u := out.Usage
			if *u.OutputTokens != DefaultTokens || *u.InputTokens < 1 || *u.TotalTokens != *u.InputTokens+*u.OutputTokens ||
				*u.CacheReadInputTokens != 0 || *u.CacheWriteInputTokens != 0 || out.Metrics.LatencyMs == nil {
				t.Errorf("usage %+v metrics %+v", u, out.Metrics)
			}

			// The stream carries the same text and usage.
			in := converseInput()
			stream, err := client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: in.ModelId, System: in.System, Messages: in.Messages})
			if err != nil {
				t.Fatal(err)
			}
			var streamed strings.Builder
			var kinds []string
			var stop brtypes.StopReason
			var meta brtypes.ConverseStreamMetadataEvent
			events := stream.GetStream()
			for ev := range events.Events() {
				switch v := ev.(type) {
				case *brtypes.ConverseStreamOutputMemberMessageStart:
					kinds = append(kinds, "messageStart")
				case *brtypes.ConverseStreamOutputMemberContentBlockDelta:
					kinds = append(kinds, "delta")
					streamed.WriteString(v.Value.Delta.(*brtypes.ContentBlockDeltaMemberText).Value)
				case *brtypes.ConverseStreamOutputMemberContentBlockStop:
					kinds = append(kinds, "contentBlockStop")
				case *brtypes.ConverseStreamOutputMemberMessageStop:
					kinds = append(kinds, "messageStop")
					stop = v.Value.StopReason
				case *brtypes.ConverseStreamOutputMemberMetadata:
					kinds = append(kinds, "metadata")
					meta = v.Value
				default:
					t.Errorf("unexpected event %T", ev)
				}
			}
			if err := events.Err(); err != nil {
				t.Fatal(err)
			}
			events.Close()
			if streamed.String() != text || stop != brtypes.StopReasonEndTurn || *meta.Usage.OutputTokens != DefaultTokens ||
				*meta.Usage.InputTokens != *u.InputTokens || meta.Metrics.LatencyMs == nil {
				t.Errorf("streamed %q (%s, %+v), want %q", streamed.String(), stop, meta.Usage, text)
			}
			if len(kinds) != DefaultTokens+4 || kinds[0] != "messageStart" || kinds[len(kinds)-1] != "metadata" {
				t.Errorf("events %v", kinds)
			}

			// A forced tool call, whole and streamed.
			in = converseInput()
			in.ToolConfig = &brtypes.ToolConfiguration{
				Tools:      []brtypes.Tool{weatherTool()},
				ToolChoice: &brtypes.ToolChoiceMemberTool{Value: brtypes.SpecificToolChoice{Name: aws.String("get_weather")}},
			}
			out, err = client.Converse(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			use := out.Output.(*brtypes.ConverseOutputMemberMessage).Value.Content[0].(*brtypes.ContentBlockMemberToolUse).Value
			var args struct {
				City string `json:"city"`
				Days int    `json:"days"`
			}
			if err := use.Input.UnmarshalSmithyDocument(&args); err != nil || *use.Name != "get_weather" ||
				!strings.HasPrefix(*use.ToolUseId, "tooluse_") || args.City == "" || args.Days != 42 || out.StopReason != brtypes.StopReasonToolUse {
				t.Fatalf("tool use %+v %+v %v (%s)", use, args, err, out.StopReason)
			}
			stream, err = client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{
				ModelId: in.ModelId, Messages: in.Messages, System: in.System,
				ToolConfig: &brtypes.ToolConfiguration{Tools: in.ToolConfig.Tools, ToolChoice: &brtypes.ToolChoiceMemberAny{}},
			})
			if err != nil {
				t.Fatal(err)
			}
			var input strings.Builder
			var start brtypes.ToolUseBlockStart
			stop = ""
			events = stream.GetStream()
			for ev := range events.Events() {
				switch v := ev.(type) {
				case *brtypes.ConverseStreamOutputMemberContentBlockStart:
					start = v.Value.Start.(*brtypes.ContentBlockStartMemberToolUse).Value
				case *brtypes.ConverseStreamOutputMemberContentBlockDelta:
					input.WriteString(*v.Value.Delta.(*brtypes.ContentBlockDeltaMemberToolUse).Value.Input)
				case *brtypes.ConverseStreamOutputMemberMessageStop:
					stop = v.Value.StopReason
				}
			}
			if err := events.Err(); err != nil {
				t.Fatal(err)
			}
			events.Close()
			if *start.Name != "get_weather" || !strings.HasPrefix(*start.ToolUseId, "tooluse_") || stop != brtypes.StopReasonToolUse ||
				input.String() != `{"city":"`+args.City+`","days":42}` {
				t.Errorf("streamed tool use %+v input %q stop %s", start, input.String(), stop)
			}

			// The SDK signed every request; the journal kept the header.
			entries := s.Journal()
			if len(entries) != 4 {
				t.Fatalf("%d journal entries", len(entries))
			}
			for _, e := range entries {
				if msg := checkSigV4([]byte(e.Headers["authorization"])); msg != "" || e.Status != 200 ||
					!strings.HasPrefix(e.Path, "/model/"+bedrockModel+"/converse") {
					t.Errorf("%s: %d %s", e.Path, e.Status, msg)
				}
			}
		})
	}
}

// TestBedrockSDKModelARN: a model id that is an ARN holds slashes, which the SDK sends
// percent-encoded; the mock still finds the action after the last one.
func TestBedrockSDKModelARN(t *testing.T) {
	s, base := startMock(t, Options{Journal: 1}, nil)
	in := converseInput()
	in.ModelId = aws.String("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0")
	if _, err := bedrockClient(base, nil).Converse(sdkCtx(t), in); err != nil {
		t.Fatal(err)
	}
	if e := s.Journal(); len(e) != 1 || e[0].Path != "/model/"+*in.ModelId+"/converse" {
		t.Errorf("journal %+v", e)
	}
}

// TestBedrockSDKErrors: forced statuses reach the SDK as Bedrock's typed exceptions.
func TestBedrockSDKErrors(t *testing.T) {
	_, base := startMock(t, Options{}, nil)
	ctx := sdkCtx(t)
	for _, tc := range []struct {
		status int
		target any
	}{
		{400, new(*brtypes.ValidationException)},
		{403, new(*brtypes.AccessDeniedException)},
		{404, new(*brtypes.ResourceNotFoundException)},
		{429, new(*brtypes.ThrottlingException)},
		{500, new(*brtypes.InternalServerException)},
		{503, new(*brtypes.ServiceUnavailableException)},
	} {
		client := bedrockClient(base, map[string]string{"X-Mock-Status": itoa(tc.status)})
		_, err := client.Converse(ctx, converseInput())
		var re *smithyhttp.ResponseError
		if !errors.As(err, tc.target) || !errors.As(err, &re) || re.HTTPStatusCode() != tc.status {
			t.Errorf("status %d: %v", tc.status, err)
		}
		_, err = client.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(bedrockModel), Messages: converseInput().Messages})
		if !errors.As(err, tc.target) {
			t.Errorf("stream, status %d: %v", tc.status, err)
		}
	}
	// The mock's own validation, as the SDK reads it.
	_, err := bedrockClient(base, nil).Converse(ctx, &bedrockruntime.ConverseInput{
		ModelId: aws.String(bedrockModel), Messages: converseInput().Messages,
		InferenceConfig: &brtypes.InferenceConfiguration{MaxTokens: aws.Int32(0)},
	})
	var ve *brtypes.ValidationException
	if !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), "maxTokens") {
		t.Errorf("maxTokens 0: %v", err)
	}
}
