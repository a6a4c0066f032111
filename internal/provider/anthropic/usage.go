package anthropic

import (
	"bytes"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// Values read here are views into the reply (gjson.Get on wire.StringView,
// which unlike GetBytes copies nothing); only integers leave these
// functions.

// usage reads usage from a complete reply: a message's usage object, or
// count_tokens' input_tokens.
func usage(op wire.Operation, body []byte) wire.Usage {
	var u wire.Usage
	if op == wire.OpCountTokens {
		if n := gjson.Get(wire.StringView(body), "input_tokens"); n.Exists() {
			u.Input, u.Valid = n.Int(), true
		}
		return u
	}
	if !bytes.Contains(body, []byte(`"usage"`)) {
		return u
	}
	messageUsage(&u, gjson.Get(wire.StringView(body), "usage"))
	return u
}

// messageUsage reads a message's usage object.
func messageUsage(u *wire.Usage, res gjson.Result) {
	if !res.IsObject() {
		return
	}
	u.Valid = true
	// Anthropic reports cache reads and writes apart from input_tokens;
	// Input counts every prompt token so that all formats agree.
	if v := res.Get("input_tokens"); v.Exists() {
		u.CacheRead = res.Get("cache_read_input_tokens").Int()
		u.CacheWrite = res.Get("cache_creation_input_tokens").Int()
		u.CacheWrite1h = res.Get("cache_creation.ephemeral_1h_input_tokens").Int()
		u.Input = v.Int() + u.CacheRead + u.CacheWrite
	}
	if v := res.Get("output_tokens"); v.Exists() {
		u.Output = v.Int()
	}
}

// streamEvent is the StreamEvent hook: a Messages stream ends with
// message_stop, or an error event; message_start carries the input usage
// and message_delta the output count. No event is usage-only, and the
// events carry no sequence numbers.
func streamEvent(_ wire.Operation, name, data []byte, u *wire.Usage, _ *int64) (end, usageOnly bool) {
	switch {
	case bytes.Equal(name, []byte("message_stop")), bytes.Equal(name, []byte("error")):
		end = true
	case bytes.Equal(name, []byte("message_start")):
		messageUsage(u, gjson.Get(wire.StringView(data), "message.usage"))
	case bytes.Equal(name, []byte("message_delta")):
		res := gjson.Get(wire.StringView(data), "usage")
		if res.IsObject() {
			u.Valid = true
			if v := res.Get("output_tokens"); v.Exists() {
				u.Output = v.Int()
			}
			// Newer API versions repeat the input counts here.
			if v := res.Get("input_tokens"); v.Exists() && v.Int() > 0 {
				cr, cw := res.Get("cache_read_input_tokens").Int(), res.Get("cache_creation_input_tokens").Int()
				if in := v.Int() + cr + cw; in > u.Input {
					u.Input, u.CacheRead, u.CacheWrite = in, cr, cw
				}
			}
		}
	}
	return end, false
}
