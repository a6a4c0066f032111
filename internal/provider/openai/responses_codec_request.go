package openai

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// respDecodeRequest reads a client's Responses request into r. Every
// top-level field the API documents is carried, dropped by a rule or
// refused (responses_codec_translation.md); a field it does not document
// is refused, since Sluice cannot tell whether it changes the reply.
func respDecodeRequest(body []byte, r *canon.Request) error {
	r.Reset()
	root, err := canon.ParseObject(body)
	if err != nil {
		return err
	}
	var d respReqDecoder
	d.r = r
	root.ForEach(func(k, v gjson.Result) bool {
		d.err = d.field(k.Str, v)
		return d.err == nil
	})
	if d.err != nil {
		return d.err
	}
	if d.user != "" {
		r.User = d.user
	} else {
		r.User = d.safety
	}
	// The input after the instructions: its system and developer messages
	// follow them in r.System.
	if d.input.Exists() {
		return respDecodeInput(d.input, r)
	}
	return nil
}

// respReqDecoder holds what the walk of a request's top level keeps for
// after it.
type respReqDecoder struct {
	r            *canon.Request
	input        gjson.Result
	user, safety string
	err          error
}

// respNull reports whether v is absent or JSON null: every optional
// field of the API may be null, which means "not set".
func respNull(v gjson.Result) bool { return !v.Exists() || v.Type == gjson.Null }

func (d *respReqDecoder) field(k string, v gjson.Result) error {
	r := d.r
	if respNull(v) && k != "input" {
		return nil
	}
	switch k {
	case "model":
		if v.Type != gjson.String {
			return canon.Fieldf(k, "must be a string")
		}
		r.Model = respStr(v)
	case "input":
		if v.Type != gjson.String && !v.IsArray() {
			return canon.Fieldf(k, "must be a string or an array of input items")
		}
		d.input = v
	case "instructions":
		if v.Type != gjson.String {
			return canon.Fieldf(k, "must be a string")
		}
		r.System = append(r.System, canon.Part{Kind: canon.PartText, Text: respStr(v)})
	case "tools":
		return respDecodeTools(v, r)
	case "tool_choice":
		return respDecodeToolChoice(v, r)
	case "parallel_tool_calls":
		b, err := respBool(k, v)
		r.ParallelTools = canon.TriOf(b)
		return err
	case "max_output_tokens":
		if v.Type != gjson.Number || v.Num < 1 || v.Num != float64(int64(v.Num)) {
			return canon.Fieldf(k, "must be a positive integer")
		}
		r.MaxTokens = v.Int()
	case "temperature":
		return respNumber(k, v, &r.Temperature)
	case "top_p":
		return respNumber(k, v, &r.TopP)
	case "reasoning":
		return respDecodeReasoning(v, r)
	case "text":
		return respDecodeText(v, r)
	case "store":
		b, err := respBool(k, v)
		r.Store = canon.TriOf(b)
		return err
	case "previous_response_id":
		if v.Type != gjson.String {
			return canon.Fieldf(k, "must be a string")
		}
		r.PreviousResponseID = respStr(v)
	case "user":
		d.user = respStr(v)
	case "safety_identifier":
		d.safety = respStr(v)
	case "metadata":
		return respDecodeMetadata(v, r)
	case "stream":
		b, err := respBool(k, v)
		r.Stream = b
		return err
	case "service_tier":
		if v.Type != gjson.String {
			return canon.Fieldf(k, "must be a string")
		}
		r.ServiceTier = respStr(v)
	case "truncation":
		// "disabled" is the default; "auto" lets OpenAI drop the oldest
		// items of an overlong input, which other vendors do not: there the
		// request fails with a context-length error instead.
		if v.Str != "disabled" && v.Str != "auto" {
			return canon.Fieldf(k, `must be "auto" or "disabled"`)
		}
	case "background":
		if v.Type == gjson.True {
			return canon.Fieldf(k, "needs a stored response, which a translated request cannot have; send background false or route to an OpenAI upstream")
		}
	case "conversation":
		return canon.Fieldf(k, "needs OpenAI's stored conversations, which a translated request cannot use; send the conversation in input")
	case "prompt":
		return canon.Fieldf(k, "is a prompt template stored at OpenAI, which a translated request cannot use; send instructions and input instead")
	case "context_management":
		if v.IsArray() && !respHasElems(v) {
			return nil
		}
		return canon.Fieldf(k, "is OpenAI's server-side compaction, which other vendors do not have; remove it")
	case "moderation":
		return canon.Fieldf(k, "is OpenAI's moderation policy, which other vendors do not apply; remove it")
	case "include":
		// Extra output OpenAI attaches on request: a translated reply
		// carries reasoning's encrypted content (or a signature) whenever
		// its upstream gives one, and never logprobs or hosted tools'
		// sources.
		if !v.IsArray() {
			return canon.Fieldf(k, "must be an array of strings")
		}
	case "max_tool_calls", "top_logprobs", "prompt_cache_key", "prompt_cache_retention",
		"prompt_cache_options", "stream_options", "access_programs", "client_metadata":
		// Dropped by rule: max_tool_calls bounds hosted tools (refused);
		// top_logprobs needs include message.output_text.logprobs
		// (dropped); the prompt cache options tune OpenAI's cache;
		// stream_options only asks for obfuscation padding;
		// access_programs and client_metadata are OpenAI account and
		// client telemetry settings.
	default:
		return canon.Fieldf(k, "is not a Responses API field Sluice can translate; remove it or route to an OpenAI upstream")
	}
	return nil
}

func respBool(k string, v gjson.Result) (bool, error) {
	if v.Type != gjson.True && v.Type != gjson.False {
		return false, canon.Fieldf(k, "must be a boolean")
	}
	return v.Type == gjson.True, nil
}

// respNumber keeps a number as the client wrote it.
func respNumber(k string, v gjson.Result, dst *[]byte) error {
	if v.Type != gjson.Number {
		return canon.Fieldf(k, "must be a number")
	}
	*dst = append((*dst)[:0], v.Raw...)
	return nil
}

func respDecodeTools(v gjson.Result, r *canon.Request) error {
	if !v.IsArray() {
		return canon.Fieldf("tools", "must be an array")
	}
	i := -1
	var err error
	v.ForEach(func(_, t gjson.Result) bool {
		i++
		typ := t.Get("type")
		if typ.Str != "function" {
			err = respField("tools", i, "type", "only function tools can be translated to another vendor; "+
				"hosted OpenAI tools (web search, file search, code interpreter, custom, MCP, ...) need an OpenAI upstream")
			return false
		}
		tool := canon.Tool{Name: respStr(t.Get("name")), Description: respStr(t.Get("description"))}
		if tool.Name == "" {
			err = respField("tools", i, "name", "is required")
			return false
		}
		if p := t.Get("parameters"); p.IsObject() {
			tool.Schema = strings.Clone(p.Raw)
		} else if !respNull(p) {
			err = respField("tools", i, "parameters", "must be a JSON Schema object")
			return false
		}
		tool.Strict = t.Get("strict").Type == gjson.True
		r.Tools = append(r.Tools, tool)
		return true
	})
	return err
}

func respDecodeToolChoice(v gjson.Result, r *canon.Request) error {
	const k = "tool_choice"
	r.ToolChoice.Set = true
	if v.Type == gjson.String {
		switch v.Str {
		case "auto":
			r.ToolChoice.Mode = canon.ToolAuto
		case "none":
			r.ToolChoice.Mode = canon.ToolNone
		case "required":
			r.ToolChoice.Mode = canon.ToolRequired
		default:
			return canon.Fieldf(k, `must be "auto", "none", "required" or {"type":"function","name":...}`)
		}
		return nil
	}
	if !v.IsObject() {
		return canon.Fieldf(k, "must be a string or an object")
	}
	if typ := v.Get("type").Str; typ != "function" {
		return canon.Fieldf(k+".type", "only a function tool can be chosen when translating to another vendor ("+
			"allowed_tools and hosted tools need an OpenAI upstream)")
	}
	name := v.Get("name")
	if name.Type != gjson.String || name.Str == "" {
		return canon.Fieldf(k+".name", "is required")
	}
	r.ToolChoice.Mode, r.ToolChoice.Name = canon.ToolNamed, respStr(name)
	return nil
}

func respDecodeReasoning(v gjson.Result, r *canon.Request) error {
	if !v.IsObject() {
		return canon.Fieldf("reasoning", "must be an object")
	}
	var err error
	v.ForEach(func(k, f gjson.Result) bool {
		if respNull(f) {
			return true
		}
		switch k.Str {
		case "effort":
			switch f.Str {
			case "none":
				r.Reasoning.Disabled = true
			case "minimal", "low", "medium", "high", "xhigh":
				r.Reasoning.Effort = respStr(f)
			default:
				err = canon.Fieldf("reasoning.effort", `must be "none", "minimal", "low", "medium", "high" or "xhigh"`)
			}
		case "summary", "generate_summary":
			switch f.Str {
			case "auto", "concise", "detailed":
				r.Reasoning.Summary = respStr(f)
			default:
				err = canon.Fieldf("reasoning."+k.Str, `must be "auto", "concise" or "detailed"`)
			}
		default:
			err = canon.Fieldf("reasoning."+k.Str, "is not a reasoning option Sluice can translate; remove it")
		}
		return err == nil
	})
	return err
}

func respDecodeText(v gjson.Result, r *canon.Request) error {
	if !v.IsObject() {
		return canon.Fieldf("text", "must be an object")
	}
	var err error
	v.ForEach(func(k, f gjson.Result) bool {
		switch k.Str {
		case "format":
			err = respDecodeFormat(f, r)
		case "verbosity":
			// Dropped by rule: GPT-5's length hint has no counterpart at
			// other vendors.
		default:
			err = canon.Fieldf("text."+k.Str, "is not a text option Sluice can translate; remove it")
		}
		return err == nil
	})
	return err
}

func respDecodeFormat(f gjson.Result, r *canon.Request) error {
	if respNull(f) {
		return nil
	}
	if !f.IsObject() {
		return canon.Fieldf("text.format", "must be an object")
	}
	switch f.Get("type").Str {
	case "text":
		r.Format.Kind = canon.FormatText
	case "json_object":
		r.Format.Kind = canon.FormatJSONObject
	case "json_schema":
		schema := f.Get("schema")
		if !schema.IsObject() {
			return canon.Fieldf("text.format.schema", "must be a JSON Schema object")
		}
		// description is dropped: a hint no other vendor's structured
		// output takes.
		r.Format = canon.ResponseFormat{Kind: canon.FormatJSONSchema, Name: respStr(f.Get("name")),
			Schema: strings.Clone(schema.Raw), Strict: f.Get("strict").Type == gjson.True}
	default:
		return canon.Fieldf("text.format.type", `must be "text", "json_object" or "json_schema"`)
	}
	return nil
}

func respDecodeMetadata(v gjson.Result, r *canon.Request) error {
	if !v.IsObject() {
		return canon.Fieldf("metadata", "must be an object of strings")
	}
	var err error
	v.ForEach(func(k, val gjson.Result) bool {
		if val.Type != gjson.String {
			err = canon.Fieldf("metadata."+k.Str, "must be a string")
			return false
		}
		r.Metadata = append(r.Metadata, canon.KV{Key: respStr(k), Value: respStr(val)})
		return true
	})
	return err
}
