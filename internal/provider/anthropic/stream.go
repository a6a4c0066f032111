package anthropic

import (
	"strconv"

	"github.com/sluice-gw/sluice/internal/provider/wire"
	"github.com/sluice-gw/sluice/internal/provider/wire/walk"
	"github.com/sluice-gw/sluice/internal/sse"
)

// The text channels of a stream (walk.ChanKey): A is a content block's
// index, B is bText for its text_delta text or bJSON for its
// input_json_delta partial_json.
const (
	bText int32 = -1
	bJSON int32 = -2
)

// streamText is the StreamText hook: it reads a Messages stream event.
// count_tokens does not stream.
func streamText(st *walk.StreamText, op wire.Operation, name, d []byte) (pure bool, err error) {
	if op == wire.OpCountTokens {
		return false, nil
	}
	root, err := walk.RootObject(d)
	if err != nil {
		return false, walk.Unreadable(d, err)
	}
	if textDelta(st, d, root) {
		return true, nil
	}
	if !walk.ValidEvent(d) {
		return false, walk.ErrInvalidJSON
	}
	var typ, delta, block walk.Span
	idx := -1
	it, _ := walk.Open(d, root, &st.Reg)
	for {
		k, v, ok := it.Next()
		if !ok {
			break
		}
		switch string(it.KeyText(k, &st.KBuf)) {
		case "type":
			typ = v
		case "index":
			if n, ok := walk.IntValue(d, v); ok {
				idx = n
			}
		case "delta":
			delta = v
		case "content_block":
			block = v
		}
	}
	is := func(n string) bool {
		if typ.End > typ.Start {
			return walk.ValueIs(d, typ, n)
		}
		return string(name) == n
	}
	switch {
	case is("content_block_delta"):
		if idx < 0 {
			break
		}
		dt, _ := walk.Get(d, delta, "type")
		switch {
		case walk.ValueIs(d, dt, "text_delta"):
			if v, ok := walk.Get(d, delta, "text"); ok {
				st.AddSlot(d, walk.ChanKey{A: int32(idx), B: bText}, v)
			}
		case walk.ValueIs(d, dt, "input_json_delta"):
			if v, ok := walk.Get(d, delta, "partial_json"); ok {
				st.AddSlot(d, walk.ChanKey{A: int32(idx), B: bJSON}, v)
			}
		}
		pure = true
	case is("content_block_start"):
		if idx < 0 {
			break
		}
		if bt, _ := walk.Get(d, block, "type"); walk.ValueIs(d, bt, "text") {
			if v, ok := walk.Get(d, block, "text"); ok {
				st.AddSlot(d, walk.ChanKey{A: int32(idx), B: bText}, v)
			}
		}
	case is("content_block_stop"):
		st.EndAs = append(st.EndAs, int32(idx))
	case is("message_delta"), is("message_stop"):
		st.EndAll = true
	}
	return pure, nil
}

// textDelta reads a Messages event when it is byte for byte the commonest
// shape,
//
//	{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"…"}}
//
// recording the text's slot as the full walk would, and reports whether it
// did; on any other bytes it does nothing.
func textDelta(st *walk.StreamText, d []byte, root walk.Span) bool {
	const (
		pre   = `{"type":"content_block_delta","index":`
		delta = `,"delta":{"type":"text_delta","text":`
	)
	idx, v, esc, ok := walk.IndexedString(d, root.Start, pre, delta)
	if !ok || v.End+2 != root.End || !walk.At(d, v.End, `}}`) {
		return false
	}
	st.Slots = append(st.Slots, walk.Slot{Key: walk.ChanKey{A: int32(idx), B: bText}, V: v, Esc: esc})
	return true
}

// synthText is the SynthText hook: a content_block_delta carrying text on
// the channel's block.
func synthText(dst []byte, st *walk.StreamText, _ wire.Operation, key walk.ChanKey, _ *walk.Template, text []byte) []byte {
	d := st.Data[:0]
	d = append(d, `{"type":"content_block_delta","index":`...)
	d = strconv.AppendInt(d, int64(key.A), 10)
	if key.B == bJSON {
		d = append(d, `,"delta":{"type":"input_json_delta","partial_json":`...)
	} else {
		d = append(d, `,"delta":{"type":"text_delta","text":`...)
	}
	d = wire.AppendJSONString(d, wire.StringView(text))
	d = append(d, `}}`...)
	st.Data = d
	return sse.AppendEvent(dst, []byte("content_block_delta"), d)
}
