package provider_test

import (
	"strconv"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// Bedrock is never a client's format, so package bedrock exports no
// encoder of Converse replies or ConverseStream events; the property test
// writes them here, in the shapes bedrock/TRANSLATION.md documents (AWS's
// API reference: ConverseOutput, ConverseStreamOutput).

// converseReply writes r as a Converse reply.
func converseReply(r *canon.Reply) []byte {
	b := []byte(`{"output":{"message":{"role":"assistant","content":[`)
	for i, p := range r.Parts {
		if i > 0 {
			b = append(b, ',')
		}
		switch p.Kind {
		case canon.PartThinking:
			b = wire.AppendJSONString(append(b, `{"reasoningContent":{"reasoningText":{"text":`...), p.Text)
			if p.Signature != "" {
				b = wire.AppendJSONString(append(b, `,"signature":`...), p.Signature)
			}
			b = append(b, `}}}`...)
		case canon.PartToolCall:
			b = wire.AppendJSONString(append(b, `{"toolUse":{"toolUseId":`...), p.ID)
			b = wire.AppendJSONString(append(b, `,"name":`...), p.Name)
			b = append(append(append(b, `,"input":`...), p.Args...), `}}`...)
		default:
			b = append(wire.AppendJSONString(append(b, `{"text":`...), p.Text), '}')
		}
	}
	b = append(b, `]}},"stopReason":"`...)
	b = append(b, converseStop(r.Stop.Reason)...)
	b = append(b, `","usage":`...)
	b = converseUsage(b, r.Usage)
	return append(b, `,"metrics":{"latencyMs":100}}`...)
}

func converseStop(s canon.StopReason) string {
	switch s {
	case canon.StopTool:
		return "tool_use"
	case canon.StopLength:
		return "max_tokens"
	case canon.StopSequence:
		return "stop_sequence"
	case canon.StopFilter:
		return "content_filtered"
	}
	return "end_turn"
}

// converseUsage writes usage as Converse reports it: inputTokens without
// the tokens read from or written to the cache.
func converseUsage(b []byte, u canon.Usage) []byte {
	b = strconv.AppendInt(append(b, `{"inputTokens":`...), u.Input-u.CacheRead-u.CacheWrite, 10)
	b = strconv.AppendInt(append(b, `,"outputTokens":`...), u.Output, 10)
	b = strconv.AppendInt(append(b, `,"totalTokens":`...), u.Input+u.Output, 10)
	b = strconv.AppendInt(append(b, `,"cacheReadInputTokens":`...), u.CacheRead, 10)
	b = strconv.AppendInt(append(b, `,"cacheWriteInputTokens":`...), u.CacheWrite, 10)
	return append(b, '}')
}

// converseEvents writes a canonical stream as ConverseStream's decoded
// messages: text and reasoning blocks open with their first delta (they
// have no contentBlockStart), usage comes once, in metadata, at the end.
func converseEvents(evs []canon.Event) []rawEvent {
	var out []rawEvent
	add := func(name string, data []byte) { out = append(out, rawEvent{[]byte(name), data}) }
	idx := func(i int) []byte { return strconv.AppendInt([]byte(`{"contentBlockIndex":`), int64(i), 10) }
	kinds := map[int]canon.PartKind{}
	var usage canon.Usage
	for _, ev := range evs {
		switch ev.Kind {
		case canon.EvStart:
			add("messageStart", []byte(`{"role":"assistant"}`))
		case canon.EvPartStart:
			kinds[ev.Index] = ev.Part.Kind
			if ev.Part.Kind == canon.PartToolCall {
				b := wire.AppendJSONString(append(idx(ev.Index), `,"start":{"toolUse":{"toolUseId":`...), ev.Part.ID)
				b = wire.AppendJSONString(append(b, `,"name":`...), ev.Part.Name)
				add("contentBlockStart", append(b, `}}}`...))
			}
		case canon.EvDelta:
			b := append(idx(ev.Index), `,"delta":`...)
			switch {
			case kinds[ev.Index] == canon.PartToolCall:
				b = append(wire.AppendJSONString(append(b, `{"toolUse":{"input":`...), ev.Text), `}}`...)
			case kinds[ev.Index] == canon.PartThinking && ev.Signature != "":
				b = append(wire.AppendJSONString(append(b, `{"reasoningContent":{"signature":`...), ev.Signature), `}}`...)
			case kinds[ev.Index] == canon.PartThinking:
				b = append(wire.AppendJSONString(append(b, `{"reasoningContent":{"text":`...), ev.Text), `}}`...)
			default:
				b = append(wire.AppendJSONString(append(b, `{"text":`...), ev.Text), '}')
			}
			add("contentBlockDelta", append(b, '}'))
		case canon.EvPartStop:
			add("contentBlockStop", append(idx(ev.Index), '}'))
		case canon.EvStop:
			add("messageStop", []byte(`{"stopReason":"`+converseStop(ev.Stop.Reason)+`"}`))
		case canon.EvUsage:
			usage = ev.Usage
		case canon.EvEnd:
			add("metadata", append(converseUsage([]byte(`{"usage":`), usage), `,"metrics":{"latencyMs":100}}`...))
		}
	}
	return out
}
