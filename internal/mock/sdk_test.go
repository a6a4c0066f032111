package mock

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
)

func sdkCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func openaiClient(base string, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(base + "/v1/"), option.WithAPIKey("sk-test"), option.WithMaxRetries(0),
	}, opts...)...)
}

func anthropicClient(base string) anthropic.Client {
	return anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey("sk-ant-test"), aoption.WithMaxRetries(0))
}

func TestOpenAISDKChat(t *testing.T) {
	_, base := startMock(t, Options{Seed: 3}, nil)
	client := openaiClient(base)
	ctx := sdkCtx(t)
	params := openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Hello there")},
	}

	got, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != "gpt-4o-mini" || !strings.HasPrefix(got.ID, "chatcmpl-") || got.Object != "chat.completion" {
		t.Errorf("id %q object %q model %q", got.ID, got.Object, got.Model)
	}
	if len(got.Choices) != 1 || got.Choices[0].FinishReason != "stop" || got.Choices[0].Message.Role != "assistant" {
		t.Fatalf("choices %+v", got.Choices)
	}
	text := got.Choices[0].Message.Content
	if n := len(strings.Fields(text)); n != DefaultTokens {
		t.Errorf("content %q has %d words, want %d", text, n, DefaultTokens)
	}
	if got.Usage.CompletionTokens != DefaultTokens || got.Usage.PromptTokens < 1 ||
		got.Usage.TotalTokens != got.Usage.PromptTokens+got.Usage.CompletionTokens {
		t.Errorf("usage %+v", got.Usage)
	}

	for _, includeUsage := range []bool{false, true} {
		p := params
		if includeUsage {
			p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		}
		stream := client.Chat.Completions.NewStreaming(ctx, p)
		var acc openai.ChatCompletionAccumulator
		chunks, usageChunks := 0, 0
		for stream.Next() {
			chunk := stream.Current()
			if chunks == 0 && (len(chunk.Choices) != 1 || chunk.Choices[0].Delta.Role != "assistant") {
				t.Errorf("first chunk has no role delta: %s", chunk.RawJSON())
			}
			if len(chunk.Choices) == 0 {
				usageChunks++
			}
			acc.AddChunk(chunk)
			chunks++
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		// Streamed content is the same as the non-streamed reply to the same request.
		if acc.Choices[0].Message.Content != text || acc.Choices[0].FinishReason != "stop" {
			t.Errorf("include_usage=%v: streamed %q (%s), want %q", includeUsage, acc.Choices[0].Message.Content, acc.Choices[0].FinishReason, text)
		}
		wantUsage := 0
		if includeUsage {
			wantUsage = 1
			if acc.Usage.CompletionTokens != DefaultTokens || acc.Usage.PromptTokens != got.Usage.PromptTokens {
				t.Errorf("streamed usage %+v", acc.Usage)
			}
		}
		if usageChunks != wantUsage || chunks != DefaultTokens+2+wantUsage {
			t.Errorf("include_usage=%v: %d chunks, %d usage chunks", includeUsage, chunks, usageChunks)
		}
	}
}

func TestOpenAISDKTools(t *testing.T) {
	_, base := startMock(t, Options{}, nil)
	client := openaiClient(base)
	ctx := sdkCtx(t)
	params := openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather",
			Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{
				"city": map[string]any{"type": "string"}, "days": map[string]any{"type": "integer"},
				"tags": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
			}},
		})},
		ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")},
	}
	got, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	msg := got.Choices[0].Message
	if got.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "get_weather" {
		t.Fatalf("reply %s", got.RawJSON())
	}
	var args struct {
		City string   `json:"city"`
		Days int      `json:"days"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal([]byte(msg.ToolCalls[0].Function.Arguments), &args); err != nil || args.City == "" || args.Days != 42 || len(args.Tags) != 1 {
		t.Errorf("arguments %q: %v", msg.ToolCalls[0].Function.Arguments, err)
	}

	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) != 1 || calls[0].Function.Arguments != msg.ToolCalls[0].Function.Arguments || !strings.HasPrefix(calls[0].ID, "call_") {
		t.Errorf("streamed tool calls %+v, want %+v", calls, msg.ToolCalls)
	}
	if acc.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("finish reason %q", acc.Choices[0].FinishReason)
	}

	// auto: a text reply.
	params.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("auto")}
	if got, err = client.Chat.Completions.New(ctx, params); err != nil || len(got.Choices[0].Message.ToolCalls) != 0 {
		t.Errorf("auto: %v %s", err, got.RawJSON())
	}
}

func TestOpenAISDKOtherRoutes(t *testing.T) {
	_, base := startMock(t, Options{}, nil)
	client := openaiClient(base)
	ctx := sdkCtx(t)

	comp, err := client.Completions.New(ctx, openai.CompletionNewParams{
		Model: "gpt-3.5-turbo-instruct", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if comp.Choices[0].Text == "" || comp.Usage.CompletionTokens != 16 || comp.Choices[0].FinishReason != "stop" {
		t.Errorf("completion %s", comp.RawJSON())
	}

	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
		emb, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model:          "text-embedding-3-small",
			Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"alpha", "beta"}},
			Dimensions:     openai.Int(64),
			EncodingFormat: format,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(emb.Data) != 2 || emb.Data[1].Index != 1 || emb.Usage.PromptTokens < 2 {
			t.Fatalf("%s: %s", format, emb.RawJSON())
		}
		for _, d := range emb.Data {
			var sum float64
			for _, v := range d.Embedding {
				sum += v * v
			}
			if len(d.Embedding) != 64 || math.Abs(sum-1) > 1e-4 {
				t.Errorf("%s: %d dimensions, norm² %v", format, len(d.Embedding), sum)
			}
		}
	}

	resp, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Model: "gpt-4o-mini", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Say hi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "completed" || len(strings.Fields(resp.OutputText())) != 16 || resp.Usage.OutputTokens != 16 {
		t.Errorf("response %s", resp.RawJSON())
	}
	stream := client.Responses.NewStreaming(ctx, responses.ResponseNewParams{
		Model: "gpt-4o-mini", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Say hi")},
		MaxOutputTokens: openai.Int(5),
	})
	var deltas strings.Builder
	var types []string
	var final responses.Response
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		switch ev.Type {
		case "response.output_text.delta":
			deltas.WriteString(ev.Delta)
		case "response.completed", "response.incomplete":
			final = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if final.Status != "incomplete" || final.IncompleteDetails.Reason != "max_output_tokens" ||
		final.OutputText() != deltas.String() || final.Usage.OutputTokens != 5 {
		t.Errorf("final response %s; deltas %q", final.RawJSON(), deltas.String())
	}
	if types[0] != "response.created" || types[1] != "response.in_progress" || types[len(types)-1] != "response.incomplete" {
		t.Errorf("event types %v", types)
	}

	models, err := client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(models.Data) == 0 || models.Data[0].ID != "gpt-4o-mini" {
		t.Errorf("models %s", models.RawJSON())
	}
}

func TestOpenAISDKErrors(t *testing.T) {
	_, base := startMock(t, Options{}, nil)
	ctx := sdkCtx(t)
	for _, status := range []int{400, 401, 429, 500, 503} {
		client := openaiClient(base, option.WithHeader("X-Mock-Status", itoa(status)))
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != status || apiErr.Message == "" || apiErr.Type == "" {
			t.Errorf("status %d: %v", status, err)
		}
	}
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func TestAnthropicSDK(t *testing.T) {
	_, base := startMock(t, Options{Seed: 5}, nil)
	client := anthropicClient(base)
	ctx := sdkCtx(t)
	params := anthropic.MessageNewParams{
		Model:     "claude-3-5-haiku",
		MaxTokens: 1024,
		System:    []anthropic.TextBlockParam{{Text: "Be brief."}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))},
	}
	msg, err := client.Messages.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Role != "assistant" || string(msg.Model) != "claude-3-5-haiku" || msg.StopReason != "end_turn" ||
		len(msg.Content) != 1 || msg.Content[0].Type != "text" || msg.Usage.OutputTokens != 16 || msg.Usage.InputTokens < 1 {
		t.Fatalf("message %s", msg.RawJSON())
	}

	stream := client.Messages.NewStreaming(ctx, params)
	var acc anthropic.Message
	var types []string
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		if err := acc.Accumulate(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Content[0].Text != msg.Content[0].Text || acc.Usage.OutputTokens != 16 || acc.Usage.InputTokens != msg.Usage.InputTokens || acc.StopReason != "end_turn" {
		t.Errorf("streamed %q usage %+v, want %q", acc.Content[0].Text, acc.Usage, msg.Content[0].Text)
	}
	// The SDK does not surface ping events; the golden files pin them.
	want := []string{"message_start", "content_block_start", "content_block_delta"}
	if strings.Join(types[:3], ",") != strings.Join(want, ",") || types[len(types)-1] != "message_stop" || len(types) != 16+5 {
		t.Errorf("event types %v", types)
	}

	// max_tokens cuts the reply.
	params.MaxTokens = 3
	if msg, err = client.Messages.New(ctx, params); err != nil || msg.StopReason != "max_tokens" || msg.Usage.OutputTokens != 3 {
		t.Errorf("cut: %v %s", err, msg.RawJSON())
	}

	// Tool use, whole and streamed.
	params.MaxTokens = 1024
	params.Tools = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
		Name:        "get_weather",
		InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}, "days": map[string]any{"type": "integer"}}},
	}}}
	params.ToolChoice = anthropic.ToolChoiceUnionParam{OfTool: &anthropic.ToolChoiceToolParam{Name: "get_weather"}}
	msg, err = client.Messages.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != "tool_use" || msg.Content[0].Type != "tool_use" || msg.Content[0].Name != "get_weather" {
		t.Fatalf("tool message %s", msg.RawJSON())
	}
	stream = client.Messages.NewStreaming(ctx, params)
	acc = anthropic.Message{}
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if string(acc.Content[0].Input) != string(msg.Content[0].Input) || acc.StopReason != "tool_use" {
		t.Errorf("streamed input %s, want %s", acc.Content[0].Input, msg.Content[0].Input)
	}

	// Forced errors in Anthropic's shape.
	for _, status := range []int{429, 529} {
		_, err := client.Messages.New(ctx, params, aoption.WithHeader("X-Mock-Status", itoa(status)))
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != status {
			t.Fatalf("status %d: %v", status, err)
		}
		wantType := map[int]string{429: "rate_limit_error", 529: "overloaded_error"}[status]
		if !strings.Contains(apiErr.RawJSON(), `"type":"`+wantType+`"`) {
			t.Errorf("status %d: body %s", status, apiErr.RawJSON())
		}
	}
}

// TestOpenAISDKResponsesTools: a Responses API function call, whole and streamed (both
// stream drivers), as the openai-go SDK reads it.
func TestOpenAISDKResponsesTools(t *testing.T) {
	for _, drv := range drivers {
		t.Run(drv.name, func(t *testing.T) {
			_, base := startMock(t, Options{}, nil)
			var opts []option.RequestOption
			for k, v := range drv.headers {
				opts = append(opts, option.WithHeader(k, v))
			}
			client := openaiClient(base, opts...)
			ctx := sdkCtx(t)
			params := responses.ResponseNewParams{
				Model: "gpt-4o-mini",
				Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Paris?")},
				Tools: []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather", map[string]any{
					"type": "object", "properties": map[string]any{
						"city": map[string]any{"type": "string"}, "days": map[string]any{"type": "integer"},
					}, "required": []string{"city", "days"}, "additionalProperties": false,
				}, true)},
				ToolChoice: responses.ResponseNewParamsToolChoiceUnion{OfToolChoiceMode: openai.Opt(responses.ToolChoiceOptionsRequired)},
			}
			resp, err := client.Responses.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != "completed" || len(resp.Output) != 1 || resp.Output[0].Type != "function_call" {
				t.Fatalf("response %s", resp.RawJSON())
			}
			call := resp.Output[0].AsFunctionCall()
			var args struct {
				City string `json:"city"`
				Days int    `json:"days"`
			}
			if call.Name != "get_weather" || !strings.HasPrefix(call.CallID, "call_") || !strings.HasPrefix(call.ID, "fc_") ||
				call.Status != "completed" || json.Unmarshal([]byte(call.Arguments), &args) != nil || args.City == "" || args.Days != 42 {
				t.Errorf("function call %s", resp.Output[0].RawJSON())
			}
			if resp.OutputText() != "" || resp.Usage.OutputTokens < 1 {
				t.Errorf("text %q, usage %+v", resp.OutputText(), resp.Usage)
			}

			// Streamed, with the function named: the same call, its arguments in deltas.
			params.ToolChoice = responses.ResponseNewParamsToolChoiceUnion{OfFunctionTool: &responses.ToolChoiceFunctionParam{Name: "get_weather"}}
			stream := client.Responses.NewStreaming(ctx, params)
			var deltas strings.Builder
			var types []string
			var done responses.ResponseFunctionCallArgumentsDoneEvent
			var item responses.ResponseFunctionToolCall
			var final responses.Response
			for stream.Next() {
				ev := stream.Current()
				types = append(types, ev.Type)
				switch ev.Type {
				case "response.output_item.added":
					if ev.Item.Type != "function_call" || ev.Item.Status != "in_progress" || ev.Item.Arguments.OfString != "" {
						t.Errorf("item added %s", ev.RawJSON())
					}
				case "response.function_call_arguments.delta":
					deltas.WriteString(ev.AsResponseFunctionCallArgumentsDelta().Delta)
				case "response.function_call_arguments.done":
					done = ev.AsResponseFunctionCallArgumentsDone()
				case "response.output_item.done":
					item = ev.AsResponseOutputItemDone().Item.AsFunctionCall()
				case "response.completed":
					final = ev.Response
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			// The same request body, so the same arguments; ids are new for every request.
			if deltas.String() != call.Arguments || done.Arguments != call.Arguments || done.ItemID != item.ID {
				t.Errorf("deltas %q, done %s; want %q", deltas.String(), done.RawJSON(), call.Arguments)
			}
			if !strings.HasPrefix(item.CallID, "call_") || item.Name != "get_weather" || item.Arguments != call.Arguments || item.Status != "completed" {
				t.Errorf("item done %s, want %s", item.RawJSON(), resp.Output[0].RawJSON())
			}
			if final.Status != "completed" || len(final.Output) != 1 || final.Output[0].AsFunctionCall().Arguments != call.Arguments {
				t.Errorf("final response %s", final.RawJSON())
			}
			want := []string{"response.created", "response.in_progress", "response.output_item.added"}
			if len(types) < 6 || strings.Join(types[:3], ",") != strings.Join(want, ",") || types[len(types)-1] != "response.completed" {
				t.Errorf("event types %v", types)
			}

			// auto: a text reply; an unknown function: a 400 naming tool_choice.
			params.ToolChoice = responses.ResponseNewParamsToolChoiceUnion{OfToolChoiceMode: openai.Opt(responses.ToolChoiceOptionsAuto)}
			if resp, err = client.Responses.New(ctx, params); err != nil || resp.Output[0].Type != "message" || resp.OutputText() == "" {
				t.Errorf("auto: %v %s", err, resp.RawJSON())
			}
			params.ToolChoice = responses.ResponseNewParamsToolChoiceUnion{OfFunctionTool: &responses.ToolChoiceFunctionParam{Name: "nope"}}
			_, err = client.Responses.New(ctx, params)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "tool_choice" {
				t.Errorf("unknown function: %v", err)
			}
		})
	}
}

// TestAnthropicSDKCountTokens: count_tokens through the official client equals the
// input tokens that a message with the same system and messages reports.
func TestAnthropicSDKCountTokens(t *testing.T) {
	_, base := startMock(t, Options{}, nil)
	client := anthropicClient(base)
	ctx := sdkCtx(t)
	system := []anthropic.TextBlockParam{{Text: "You are a terse assistant who answers in one line."}}
	msgs := []anthropic.MessageParam{
		anthropic.NewUserMessage(anthropic.NewTextBlock("What is the capital of France?")),
		anthropic.NewAssistantMessage(anthropic.NewTextBlock("Paris.")),
		anthropic.NewUserMessage(anthropic.NewTextBlock("And of Italy?")),
	}
	count, err := client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{
		Model: "claude-3-5-haiku", Messages: msgs,
		System: anthropic.MessageCountTokensParamsSystemUnion{OfTextBlockArray: system},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := client.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude-3-5-haiku", MaxTokens: 10, Messages: msgs, System: system})
	if err != nil {
		t.Fatal(err)
	}
	if count.InputTokens < 2 || count.InputTokens != msg.Usage.InputTokens {
		t.Errorf("count_tokens %d, messages input_tokens %d", count.InputTokens, msg.Usage.InputTokens)
	}
	_, err = client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "claude-3-5-haiku", Messages: msgs},
		aoption.WithHeader("X-Mock-Status", "429"))
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || !strings.Contains(apiErr.RawJSON(), "rate_limit_error") {
		t.Errorf("forced 429: %v", err)
	}
}
