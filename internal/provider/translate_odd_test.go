package provider_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// Upstream streams that are legal but out of the common order (parallel
// tool calls interleaved, parts with no start, content after the stop,
// events missing): each decoder keeps canon's grammar and loses no text or
// argument fragment, and every client format reads the same content.
func TestTranslateOddStreams(t *testing.T) {
	chunk := func(delta string) string {
		return `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":null}]}` + "\n\n"
	}
	cases := []struct {
		name   string
		up     int // index in xformats
		stream string
		want   content // Text and Calls; Stop when not zero
	}{
		{"chat parallel calls interleaved", 0, chunk(`{"role":"assistant","content":"On it."}`) +
			chunk(`{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\""}}]}`) +
			chunk(`{"tool_calls":[{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{\"y\""}}]}`) +
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}`) +
			chunk(`{"tool_calls":[{"index":1,"function":{"arguments":":2}"}}]}`) +
			`data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}` + "\n\n" +
			`data: {"id":"c1","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}` + "\n\n" +
			"data: [DONE]\n\n",
			content{Text: "On it.", Calls: []call{{"f", `{"x":1}`}, {"g", `{"y":2}`}}}},
		{"chat whole calls without index or id, content after the finish", 0,
			chunk(`{"tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}`) +
				`data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}` + "\n\n" +
				chunk(`{"content":"late"}`) + "data: [DONE]\n\n",
			content{Calls: []call{{"f", `{}`}}}},
		{"anthropic without message_start, delta before its block", 2,
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lost\"}}\n\n" +
				"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"Hi\"}}\n\n" +
				"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"f\",\"input\":{}}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":[1,\"}}\n\n" +
				"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"2]}\"}}\n\n" +
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":9}}\n\n" +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
			content{Text: "Hi", Calls: []call{{"f", `{"a":[1,2]}`}}}},
		{"responses text and arguments only in their done events", 1,
			"event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\",\"model\":\"m\"}}\n\n" +
				"event: response.output_text.done\ndata: {\"type\":\"response.output_text.done\",\"output_index\":0,\"content_index\":0,\"text\":\"Hello\"}\n\n" +
				"event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"output_index\":1,\"item\":{\"type\":\"function_call\",\"id\":\"fc1\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"\"}}\n\n" +
				"event: response.function_call_arguments.done\ndata: {\"type\":\"response.function_call_arguments.done\",\"output_index\":1,\"item_id\":\"fc1\",\"arguments\":\"{\\\"q\\\":1}\"}\n\n" +
				"event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":1,\"item\":{\"type\":\"function_call\",\"id\":\"fc1\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{\\\"q\\\":1}\"}}\n\n" +
				"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r1\",\"status\":\"completed\",\"usage\":{\"input_tokens\":3,\"output_tokens\":4,\"total_tokens\":7}}}\n\n",
			content{Text: "Hello", Calls: []call{{"f", `{"q":1}`}}}},
		{"gemini text and calls in one chunk, finish in a chunk of its own", 3,
			`data: {"candidates":[{"content":{"role":"model","parts":[{"text":"A"},{"functionCall":{"name":"f","args":{"k":"v"}}},{"text":"B"},{"functionCall":{"name":"f","args":{}}}]}}],"responseId":"g1"}` + "\n\n" +
				`data: {"candidates":[{"content":{"role":"model","parts":[{"text":"C"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":3}}` + "\n\n" +
				`data: {"candidates":[{"content":{"role":"model","parts":[{"text":"after"}]}}]}` + "\n\n",
			content{Text: "ABC", Calls: []call{{"f", `{"k":"v"}`}, {"f", `{}`}}}},
		{"converse text around a call, no messageStart, content after messageStop", 4,
			`contentBlockDelta {"contentBlockIndex":0,"delta":{"text":"x"}}` + "\n" +
				`contentBlockStart {"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t","name":"f"}}}` + "\n" +
				`contentBlockDelta {"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"a\":"}}}` + "\n" +
				`contentBlockDelta {"contentBlockIndex":1,"delta":{"toolUse":{"input":"1}"}}}` + "\n" +
				`contentBlockDelta {"contentBlockIndex":0,"delta":{"text":"y"}}` + "\n" +
				`contentBlockStop {"contentBlockIndex":0}` + "\n" +
				`messageStop {"stopReason":"tool_use"}` + "\n" +
				`contentBlockDelta {"contentBlockIndex":2,"delta":{"text":"late"}}` + "\n" +
				`metadata {"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}}` + "\n",
			content{Text: "xy", Calls: []call{{"f", `{"a":1}`}}}},
	}
	for _, tc := range cases {
		up := xformats[tc.up]
		var evs []rawEvent
		if up.op == provider.OpConverse {
			evs = readConverse([]byte(tc.stream))
		} else {
			evs = readSSE(t, []byte(tc.stream))
		}
		for _, c := range clients() {
			t.Run(tc.name+"/"+c.name, func(t *testing.T) {
				checkStream(t, up, c, evs)
				req := &canon.Request{Model: up.model, Stream: true, IncludeUsage: true}
				out, mid, err := translateStream(up.codec(), c.codec(), req, evs)
				if err != nil {
					t.Fatal(err)
				}
				got, err := readClientStream(c, out)
				if err != nil {
					t.Fatal(err)
				}
				if got.Text != tc.want.Text || fmt.Sprint(compactCalls(got.Calls)) != fmt.Sprint(tc.want.Calls) {
					t.Errorf("the client reads\n%v\nwant text %q calls %q\ncanonical events: %+v\nclient stream:\n%s", got, tc.want.Text, tc.want.Calls, mid, out)
				}
			})
		}
	}
}

func compactCalls(cs []call) []call {
	out := make([]call, len(cs))
	for i, c := range cs {
		out[i] = call{c.Name, strings.TrimSpace(compactJSON(c.Args))}
	}
	return out
}
