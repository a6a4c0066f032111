package anthropic

import (
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
)

func TestStreamText(t *testing.T) {
	tests := []struct {
		name   string
		op     wire.Operation
		event  string
		data   string
		pure   bool
		keys   []walk.ChanKey
		endAll bool
		endAs  []int32
		err    error
	}{
		{name: "text delta", op: wire.OpMessages, event: "content_block_delta",
			data: `{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"hi"}}`, pure: true, keys: []walk.ChanKey{{A: 2, B: bText}}},
		{name: "text delta, spaced", op: wire.OpMessages, event: "content_block_delta",
			data: `{"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "hi"}}`, pure: true, keys: []walk.ChanKey{{A: 2, B: bText}}},
		{name: "json delta", op: wire.OpMessages, data: `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{"}}`,
			pure: true, keys: []walk.ChanKey{{A: 1, B: bJSON}}},
		{name: "block start", op: wire.OpMessages, data: `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"a"}}`,
			keys: []walk.ChanKey{{A: 0, B: bText}}},
		{name: "block stop", op: wire.OpMessages, data: `{"type":"content_block_stop","index":3}`, endAs: []int32{3}},
		{name: "message delta", op: wire.OpMessages, data: `{"type":"message_delta","delta":{}}`, endAll: true},
		{name: "named by the event", op: wire.OpMessages, event: "message_stop", data: `{}`, endAll: true},
		{name: "ping", op: wire.OpMessages, data: `{"type":"ping"}`},
		{name: "not an object", op: wire.OpMessages, data: `[1]`, err: walk.ErrNotObject},
		{name: "cut short", op: wire.OpMessages, data: `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi}}`, err: walk.ErrInvalidJSON},
		{name: "count tokens", op: wire.OpCountTokens, data: `{"input_tokens":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st walk.StreamText
			pure, err := streamText(&st, tt.op, []byte(tt.event), []byte(tt.data))
			if err != tt.err || pure != tt.pure || st.EndAll != tt.endAll || len(st.EndAs) != len(tt.endAs) || len(st.Slots) != len(tt.keys) || st.Full {
				t.Fatalf("pure %v, err %v, end all %v, ends %v, slots %+v, full %v", pure, err, st.EndAll, st.EndAs, st.Slots, st.Full)
			}
			for i, k := range tt.keys {
				if st.Slots[i].Key != k {
					t.Errorf("slot %d: key %+v, want %+v", i, st.Slots[i].Key, k)
				}
			}
		})
	}
}

func TestSynthText(t *testing.T) {
	var st walk.StreamText
	for key, want := range map[walk.ChanKey]string{
		{A: 1, B: bText}: "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\\\"b\"}}\n\n",
		{A: 0, B: bJSON}: "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"a\\\"b\"}}\n\n",
	} {
		if got := string(synthText(nil, &st, wire.OpMessages, key, nil, []byte(`a"b`))); got != want {
			t.Errorf("%+v:\n got %q\nwant %q", key, got, want)
		}
	}
}
