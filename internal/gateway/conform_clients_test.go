package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
	"google.golang.org/genai"
)

// The conformance matrix's clients: one per inbound format, each the
// official SDK of that format, as an application would use it, with the
// static key of examples/providers.yaml.

const confKey = "sk-bench-0001"

func confDataURL(png []byte) string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
}

// --- OpenAI chat completions (openai-go) ---

type confOpenAIChat struct{ c openai.Client }

func newConfOpenAIChat(s *stack) *confOpenAIChat {
	return &confOpenAIChat{openai.NewClient(option.WithBaseURL(s.url+"/v1/"), option.WithAPIKey(confKey), option.WithMaxRetries(0))}
}

func (o *confOpenAIChat) params(model string, q confQuery) openai.ChatCompletionNewParams {
	p := openai.ChatCompletionNewParams{Model: model}
	if q.image != nil {
		p.Messages = append(p.Messages, openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart(q.text),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: confDataURL(q.image)}),
		}))
	} else {
		p.Messages = append(p.Messages, openai.UserMessage(q.text))
	}
	if q.tool {
		p.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather", Description: openai.String("the weather in a city"), Parameters: confWeatherSchema,
		})}
		p.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}
	}
	return p
}

func headerOpts(h map[string]string) []option.RequestOption {
	var opts []option.RequestOption
	for k, v := range h {
		opts = append(opts, option.WithHeader(k, v))
	}
	return opts
}

func (o *confOpenAIChat) send(ctx context.Context, p openai.ChatCompletionNewParams, stream bool, h map[string]string) (confResult, *openai.ChatCompletion, error) {
	var cc *openai.ChatCompletion
	if stream {
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		st := o.c.Chat.Completions.NewStreaming(ctx, p, headerOpts(h)...)
		acc := openai.ChatCompletionAccumulator{}
		for st.Next() {
			acc.AddChunk(st.Current())
		}
		if err := st.Err(); err != nil {
			return confResult{}, nil, err
		}
		cc = &acc.ChatCompletion
	} else {
		var err error
		if cc, err = o.c.Chat.Completions.New(ctx, p, headerOpts(h)...); err != nil {
			return confResult{}, nil, err
		}
	}
	r := confResult{input: cc.Usage.PromptTokens, output: cc.Usage.CompletionTokens, cached: cc.Usage.PromptTokensDetails.CachedTokens}
	if len(cc.Choices) > 0 {
		m := cc.Choices[0].Message
		r.text = m.Content
		for _, tc := range m.ToolCalls {
			r.calls = append(r.calls, confCall{id: tc.ID, name: tc.Function.Name, args: tc.Function.Arguments})
		}
	}
	return r, cc, nil
}

func (o *confOpenAIChat) ask(ctx context.Context, model string, stream bool, q confQuery) (confResult, error) {
	r, _, err := o.send(ctx, o.params(model, q), stream, q.headers)
	return r, err
}

func (o *confOpenAIChat) answer(ctx context.Context, model string, stream bool, q confQuery, call confCall, result string) (confResult, error) {
	p := o.params(model, q)
	p.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{}
	p.Messages = append(p.Messages,
		openai.ChatCompletionMessageParamUnion{OfAssistant: &openai.ChatCompletionAssistantMessageParam{
			ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
				ID: call.id, Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: call.name, Arguments: call.args},
			}}},
		}},
		openai.ToolMessage(result, call.id))
	r, _, err := o.send(ctx, p, stream, q.headers)
	return r, err
}

// --- OpenAI Responses (openai-go) ---

type confOpenAIResponses struct{ c openai.Client }

func newConfOpenAIResponses(s *stack) *confOpenAIResponses {
	return &confOpenAIResponses{openai.NewClient(option.WithBaseURL(s.url+"/v1/"), option.WithAPIKey(confKey), option.WithMaxRetries(0))}
}

func (o *confOpenAIResponses) params(model string, q confQuery) responses.ResponseNewParams {
	p := responses.ResponseNewParams{Model: model, Store: openai.Bool(false)}
	content := responses.ResponseInputMessageContentListParam{{OfInputText: &responses.ResponseInputTextParam{Text: q.text}}}
	if q.image != nil {
		content = append(content, responses.ResponseInputContentUnionParam{OfInputImage: &responses.ResponseInputImageParam{
			ImageURL: openai.String(confDataURL(q.image)), Detail: responses.ResponseInputImageDetailAuto,
		}})
	}
	p.Input = responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
		responses.ResponseInputItemParamOfMessage(content, responses.EasyInputMessageRoleUser),
	}}
	if q.tool {
		p.Tools = []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{
			Name: "get_weather", Description: openai.String("the weather in a city"), Parameters: confWeatherSchema, Strict: openai.Bool(false),
		}}}
		p.ToolChoice = responses.ResponseNewParamsToolChoiceUnion{OfToolChoiceMode: openai.Opt(responses.ToolChoiceOptionsRequired)}
	}
	return p
}

func (o *confOpenAIResponses) send(ctx context.Context, p responses.ResponseNewParams, stream bool, h map[string]string) (confResult, error) {
	var resp *responses.Response
	if stream {
		st := o.c.Responses.NewStreaming(ctx, p, headerOpts(h)...)
		for st.Next() {
			if ev := st.Current(); ev.Type == "response.completed" || ev.Type == "response.incomplete" {
				r := ev.Response
				resp = &r
			}
		}
		if err := st.Err(); err != nil {
			return confResult{}, err
		}
		if resp == nil {
			return confResult{}, errNoCompleted
		}
	} else {
		var err error
		if resp, err = o.c.Responses.New(ctx, p, headerOpts(h)...); err != nil {
			return confResult{}, err
		}
	}
	r := confResult{text: resp.OutputText(), input: resp.Usage.InputTokens, output: resp.Usage.OutputTokens,
		cached: resp.Usage.InputTokensDetails.CachedTokens}
	for _, it := range resp.Output {
		if it.Type == "function_call" {
			r.calls = append(r.calls, confCall{id: it.CallID, name: it.Name, args: it.Arguments.OfString})
		}
	}
	return r, nil
}

type confError string

func (e confError) Error() string { return string(e) }

const errNoCompleted = confError("the stream had no response.completed event")

func (o *confOpenAIResponses) ask(ctx context.Context, model string, stream bool, q confQuery) (confResult, error) {
	return o.send(ctx, o.params(model, q), stream, q.headers)
}

func (o *confOpenAIResponses) answer(ctx context.Context, model string, stream bool, q confQuery, call confCall, result string) (confResult, error) {
	p := o.params(model, q)
	p.ToolChoice = responses.ResponseNewParamsToolChoiceUnion{}
	out := responses.ResponseInputItemParamOfFunctionCallOutput(result)
	out.OfFunctionCallOutput.CallID = openai.String(call.id)
	p.Input.OfInputItemList = append(p.Input.OfInputItemList,
		responses.ResponseInputItemParamOfFunctionCall(call.args, call.id, call.name), out)
	return o.send(ctx, p, stream, q.headers)
}

// --- Anthropic messages (anthropic-sdk-go) ---

type confAnthropic struct{ c anthropic.Client }

func newConfAnthropic(s *stack) *confAnthropic {
	return &confAnthropic{anthropic.NewClient(aoption.WithBaseURL(s.url), aoption.WithAPIKey(confKey), aoption.WithMaxRetries(0))}
}

func (a *confAnthropic) params(model string, q confQuery) anthropic.MessageNewParams {
	blocks := []anthropic.ContentBlockParamUnion{anthropic.NewTextBlock(q.text)}
	if q.image != nil {
		blocks = append(blocks, anthropic.NewImageBlockBase64("image/png", base64.StdEncoding.EncodeToString(q.image)))
	}
	p := anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 256,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(blocks...)}}
	if q.tool {
		p.Tools = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name: "get_weather", Description: anthropic.String("the weather in a city"),
			InputSchema: anthropic.ToolInputSchemaParam{Properties: confWeatherSchema["properties"], Required: []string{"city"}},
		}}}
		p.ToolChoice = anthropic.ToolChoiceUnionParam{OfAny: &anthropic.ToolChoiceAnyParam{}}
	}
	return p
}

func (a *confAnthropic) send(ctx context.Context, p anthropic.MessageNewParams, stream bool, h map[string]string) (confResult, *anthropic.Message, error) {
	var opts []aoption.RequestOption
	for k, v := range h {
		opts = append(opts, aoption.WithHeader(k, v))
	}
	msg := &anthropic.Message{}
	if stream {
		st := a.c.Messages.NewStreaming(ctx, p, opts...)
		for st.Next() {
			if err := msg.Accumulate(st.Current()); err != nil {
				return confResult{}, nil, err
			}
		}
		if err := st.Err(); err != nil {
			return confResult{}, nil, err
		}
	} else {
		var err error
		if msg, err = a.c.Messages.New(ctx, p, opts...); err != nil {
			return confResult{}, nil, err
		}
	}
	u := msg.Usage
	r := confResult{output: u.OutputTokens, cached: u.CacheReadInputTokens,
		input: u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens}
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			r.text += b.Text
		case "tool_use":
			r.calls = append(r.calls, confCall{id: b.ID, name: b.Name, args: string(b.Input)})
		}
	}
	return r, msg, nil
}

func (a *confAnthropic) ask(ctx context.Context, model string, stream bool, q confQuery) (confResult, error) {
	r, _, err := a.send(ctx, a.params(model, q), stream, q.headers)
	return r, err
}

func (a *confAnthropic) answer(ctx context.Context, model string, stream bool, q confQuery, call confCall, result string) (confResult, error) {
	p := a.params(model, q)
	p.ToolChoice = anthropic.ToolChoiceUnionParam{}
	var input any
	_ = json.Unmarshal([]byte(call.args), &input)
	p.Messages = append(p.Messages,
		anthropic.NewAssistantMessage(anthropic.NewToolUseBlock(call.id, input, call.name)),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock(call.id, result, false)))
	r, _, err := a.send(ctx, p, stream, q.headers)
	return r, err
}

// --- Gemini generateContent (Google's genai) ---

type confGemini struct{ c *genai.Client }

func newConfGemini(t *testing.T, s *stack) *confGemini {
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey: confKey, Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: s.url + "/", APIVersion: "v1beta"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &confGemini{c}
}

func (g *confGemini) config(q confQuery) *genai.GenerateContentConfig {
	cfg := &genai.GenerateContentConfig{}
	if len(q.headers) > 0 {
		h := http.Header{}
		for k, v := range q.headers {
			h.Set(k, v)
		}
		cfg.HTTPOptions = &genai.HTTPOptions{Headers: h}
	}
	if q.tool {
		cfg.Tools = []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
			Name: "get_weather", Description: "the weather in a city",
			Parameters: &genai.Schema{Type: genai.TypeObject, Required: []string{"city"},
				Properties: map[string]*genai.Schema{"city": {Type: genai.TypeString, Description: "the city"}}},
		}}}}
		cfg.ToolConfig = &genai.ToolConfig{FunctionCallingConfig: &genai.FunctionCallingConfig{Mode: genai.FunctionCallingConfigModeAny}}
	}
	return cfg
}

func (g *confGemini) contents(q confQuery) []*genai.Content {
	parts := []*genai.Part{genai.NewPartFromText(q.text)}
	if q.image != nil {
		parts = append(parts, genai.NewPartFromBytes(q.image, "image/png"))
	}
	return []*genai.Content{genai.NewContentFromParts(parts, genai.RoleUser)}
}

func (g *confGemini) send(ctx context.Context, model string, contents []*genai.Content, cfg *genai.GenerateContentConfig, stream bool) (confResult, error) {
	var r confResult
	read := func(resp *genai.GenerateContentResponse) {
		if len(resp.Candidates) > 0 && resp.Candidates[0].Content != nil {
			for _, p := range resp.Candidates[0].Content.Parts {
				if p.FunctionCall != nil {
					args, _ := json.Marshal(p.FunctionCall.Args)
					r.calls = append(r.calls, confCall{id: p.FunctionCall.ID, name: p.FunctionCall.Name, args: string(args)})
				} else if !p.Thought {
					r.text += p.Text
				}
			}
		}
		if u := resp.UsageMetadata; u != nil {
			r.input, r.output, r.cached = int64(u.PromptTokenCount), int64(u.CandidatesTokenCount), int64(u.CachedContentTokenCount)
		}
	}
	if stream {
		for resp, err := range g.c.Models.GenerateContentStream(ctx, model, contents, cfg) {
			if err != nil {
				return r, err
			}
			read(resp)
		}
		return r, nil
	}
	resp, err := g.c.Models.GenerateContent(ctx, model, contents, cfg)
	if err != nil {
		return r, err
	}
	read(resp)
	return r, nil
}

func (g *confGemini) ask(ctx context.Context, model string, stream bool, q confQuery) (confResult, error) {
	return g.send(ctx, model, g.contents(q), g.config(q), stream)
}

func (g *confGemini) answer(ctx context.Context, model string, stream bool, q confQuery, call confCall, result string) (confResult, error) {
	var args map[string]any
	_ = json.Unmarshal([]byte(call.args), &args)
	contents := append(g.contents(q),
		&genai.Content{Role: genai.RoleModel, Parts: []*genai.Part{{FunctionCall: &genai.FunctionCall{ID: call.id, Name: call.name, Args: args}}}},
		genai.NewContentFromParts([]*genai.Part{{FunctionResponse: &genai.FunctionResponse{ID: call.id, Name: call.name,
			Response: map[string]any{"result": result}}}}, genai.RoleUser))
	cfg := g.config(q)
	cfg.ToolConfig = nil
	return g.send(ctx, model, contents, cfg, stream)
}
