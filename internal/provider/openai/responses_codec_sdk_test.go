package openai

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// respSDKServer answers /v1/responses with the encoder's reply to the
// decoded request: the reply and stream events of thinking_text_tool.
// It records what the decoder made of the SDK's request.
type respSDKServer struct {
	mu   sync.Mutex
	reqs []canon.Request
	errs []error
}

func (s *respSDKServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req canon.Request
	err := respDecodeRequest(body, &req)
	s.mu.Lock()
	s.reqs, s.errs = append(s.reqs, req), append(s.errs, err)
	s.mu.Unlock()
	if err != nil {
		w.WriteHeader(400)
		return
	}
	if req.Stream {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(respEncodeStream(respEventSeqs[0].evs, &req))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(respEncodeReply(nil, &respReplies[0].reply, &req))
}

func respSDKParams() responses.ResponseNewParams {
	return responses.ResponseNewParams{
		Model:        "claude-sonnet-4-5",
		Instructions: openai.String("Be brief."),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("Weather in Paris?", responses.EasyInputMessageRoleUser),
			responses.ResponseInputItemParamOfFunctionCall(`{"city":"Paris"}`, "call_0", "get_weather"),
			respSDKOutput("call_0", "18C"),
		}},
		Tools: []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather", map[string]any{
			"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}},
		}, false)},
		ToolChoice:        responses.ResponseNewParamsToolChoiceUnion{OfToolChoiceMode: openai.Opt(responses.ToolChoiceOptionsAuto)},
		ParallelToolCalls: openai.Bool(true),
		Reasoning:         respSDKReasoning(),
		Store:             openai.Bool(false),
		Include:           []responses.ResponseIncludable{responses.ResponseIncludableReasoningEncryptedContent},
	}
}

// The official Go SDK reads the encoder's reply and stream: text,
// function calls, reasoning and usage; and its requests decode.
func TestResponsesOpenAISDK(t *testing.T) {
	srv := &respSDKServer{}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	client := openai.NewClient(option.WithBaseURL(hs.URL+"/v1/"), option.WithAPIKey("sk-test"), option.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	resp, err := client.Responses.New(ctx, respSDKParams())
	if err != nil {
		t.Fatalf("%v (decoder: %v)", err, srv.errs)
	}
	if resp.OutputText() != `Let me check "Paris".` || resp.Status != "completed" || resp.ID != "msg_01XYZ" {
		t.Errorf("response %s", resp.RawJSON())
	}
	calls := respSDKCalls(resp.Output)
	if len(calls) != 2 || calls[0].CallID != "toolu_1" || calls[0].Name != "get_weather" || calls[0].Arguments != `{"city":"Paris"}` {
		t.Errorf("function calls %+v", calls)
	}
	if rs := resp.Output[0].AsReasoning(); rs.Summary[0].Text != "The user wants weather." || rs.EncryptedContent != respSigPrefix+"EqQBsig/+=" {
		t.Errorf("reasoning %+v", rs)
	}
	u := resp.Usage
	if u.InputTokens != 1200 || u.InputTokensDetails.CachedTokens != 1000 || u.OutputTokens != 300 ||
		u.OutputTokensDetails.ReasoningTokens != 120 || u.TotalTokens != 1500 {
		t.Errorf("usage %+v", u)
	}

	stream := client.Responses.NewStreaming(ctx, respSDKParams())
	var text, summary strings.Builder
	var args []responses.ResponseFunctionCallArgumentsDoneEvent
	var final responses.Response
	var types []string
	var acc responses.ResponseAccumulator
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		var wsEv responses.ResponsesServerEventUnion
		if err := json.Unmarshal([]byte(ev.RawJSON()), &wsEv); err != nil {
			t.Fatal(err)
		}
		if err := acc.AddEvent(wsEv); err != nil {
			t.Errorf("accumulator refused %s: %v", ev.RawJSON(), err)
		}
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.AsResponseOutputTextDelta().Delta)
		case "response.reasoning_summary_text.delta":
			summary.WriteString(ev.AsResponseReasoningSummaryTextDelta().Delta)
		case "response.function_call_arguments.done":
			args = append(args, ev.AsResponseFunctionCallArgumentsDone())
		case "response.completed":
			final = ev.AsResponseCompleted().Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != "Hello \"world\"\nSecond block." || final.OutputText() != text.String() || summary.String() != "Let me think." {
		t.Errorf("text %q, summary %q, final %q", text.String(), summary.String(), final.OutputText())
	}
	if len(args) != 1 || args[0].Arguments != `{"city":"Paris"}` || args[0].ItemID != "fc_01XYZ_2" {
		t.Errorf("arguments %+v", args)
	}
	if calls := respSDKCalls(final.Output); len(calls) != 1 || calls[0].CallID != "toolu_1" {
		t.Errorf("final function calls %+v", calls)
	}
	if u := final.Usage; u.InputTokens != 100 || u.InputTokensDetails.CachedTokens != 80 || u.OutputTokens != 50 ||
		u.OutputTokensDetails.ReasoningTokens != 20 || u.TotalTokens != 150 {
		t.Errorf("final usage %+v", u)
	}
	if types[0] != "response.created" || types[1] != "response.in_progress" || types[len(types)-1] != "response.completed" {
		t.Errorf("event types %v", types)
	}
	if got, err := acc.ReconstructedResponse(); err != nil || got.OutputText() != text.String() ||
		acc.Snapshot().OutputText() != text.String() {
		t.Errorf("accumulated: %v %q", err, acc.Snapshot().OutputText())
	}

	for i, err := range srv.errs {
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
	if r := srv.reqs[1]; !r.Stream || r.Store != canon.TriFalse || len(r.Messages) != 3 || r.Messages[2].Parts[0].Kind != canon.PartToolResult ||
		len(r.Tools) != 1 || r.System[0].Text != "Be brief." || r.Reasoning.Effort != "low" {
		t.Errorf("decoded SDK request %+v", r)
	}
}

func respSDKReasoning() openai.ReasoningParam {
	return openai.ReasoningParam{Effort: openai.ReasoningEffortLow, Summary: openai.ReasoningSummaryAuto}
}

func respSDKCalls(items []responses.ResponseOutputItemUnion) []responses.ResponseFunctionToolCall {
	var calls []responses.ResponseFunctionToolCall
	for _, it := range items {
		if it.Type == "function_call" {
			calls = append(calls, it.AsFunctionCall())
		}
	}
	return calls
}

func respSDKOutput(callID, output string) responses.ResponseInputItemUnionParam {
	item := responses.ResponseInputItemParamOfFunctionCallOutput(output)
	item.OfFunctionCallOutput.CallID = openai.String(callID)
	return item
}
