package bedrock

import (
	"errors"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// errNoOutput is a reply without output.message.
var errNoOutput = errors.New("bedrock: reply has no output.message")

// DecodeReply reads a Converse reply into r:
//
//	{"output":{"message":{"role":"assistant","content":[...]}},
//	 "stopReason":"end_turn","usage":{...},"metrics":{"latencyMs":N}}
//
// Content blocks: text → PartText; toolUse {toolUseId, name, input} →
// PartToolCall (Args: input as JSON text); reasoningContent.reasoningText
// {text, signature} → PartThinking; reasoningContent.redactedContent →
// PartThinking with Redacted (base64). Other blocks (citationsContent,
// image, ...) are dropped. A Converse reply has no id, model or creation
// time: ID, Model and Created stay empty (the gateway knows the model).
// additionalModelResponseFields.stop_sequence, when present, is the
// matched stop sequence; metrics and trace are dropped.
func DecodeReply(body []byte, r *canon.Reply) error {
	r.Reset()
	if !gjson.ValidBytes(body) {
		return canon.ErrInvalidJSON
	}
	root := gjson.Parse(wire.StringView(body))
	msg := root.Get("output.message")
	if !msg.IsObject() {
		return errNoOutput
	}
	msg.Get("content").ForEach(func(_, b gjson.Result) bool {
		if p := replyPart(b); p.Kind != 0 {
			r.Parts = append(r.Parts, p)
		}
		return true
	})
	r.Stop = stopOf(str(root.Get("stopReason")))
	if seq := root.Get("additionalModelResponseFields.stop_sequence"); seq.Type == gjson.String {
		r.Stop.Sequence = str(seq)
	}
	r.Usage, _ = readUsage(root.Get("usage"))
	return nil
}

// replyPart reads one content block of a reply; a zero Part is a block
// canon does not carry.
func replyPart(b gjson.Result) canon.Part {
	if t := b.Get("text"); t.Type == gjson.String {
		return canon.Part{Kind: canon.PartText, Text: str(t)}
	}
	if tu := b.Get("toolUse"); tu.IsObject() {
		args := "{}"
		if in := tu.Get("input"); in.Exists() {
			args = strings.Clone(in.Raw)
		}
		return canon.Part{Kind: canon.PartToolCall, ID: str(tu.Get("toolUseId")), Name: str(tu.Get("name")), Args: args}
	}
	if rc := b.Get("reasoningContent"); rc.IsObject() {
		if rd := rc.Get("redactedContent"); rd.Type == gjson.String {
			return canon.Part{Kind: canon.PartThinking, Redacted: str(rd)}
		}
		rt := rc.Get("reasoningText")
		return canon.Part{Kind: canon.PartThinking, Text: str(rt.Get("text")), Signature: str(rt.Get("signature"))}
	}
	return canon.Part{}
}
