package openai

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

// chatDecodeRequest reads a client's chat completions request into r. Every
// top-level field the OpenAI reference documents is carried, dropped by a
// rule or refused (chat_codec.md); a field it does not know is refused,
// since it may change what the client gets. A field whose value is null
// counts as absent.
func chatDecodeRequest(body []byte, r *canon.Request) error {
	r.Reset()
	root, err := canon.ParseObject(body)
	if err != nil {
		return err
	}
	var msgs, maxTok, maxComp, sid gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		if v.Type == gjson.Null {
			return true
		}
		switch k.Str {
		case "model":
			r.Model, err = chatString(k.Str, v)
		case "messages":
			msgs = v
		case "stream":
			r.Stream, err = chatBool(k.Str, v)
		case "stream_options":
			err = chatStreamOptions(r, v)
		case "max_tokens":
			maxTok = v
		case "max_completion_tokens":
			maxComp = v
		case "temperature":
			r.Temperature, err = chatNumber(k.Str, v)
		case "top_p":
			r.TopP, err = chatNumber(k.Str, v)
		case "top_k": // vLLM's and Groq's extension
			r.TopK, err = chatNumber(k.Str, v)
		case "frequency_penalty":
			r.FrequencyPenalty, err = chatNumber(k.Str, v)
		case "presence_penalty":
			r.PresencePenalty, err = chatNumber(k.Str, v)
		case "seed":
			r.Seed, err = chatNumber(k.Str, v)
		case "n":
			err = chatChoices(r, v)
		case "stop":
			err = chatStop(r, v)
		case "tools":
			err = chatTools(r, v)
		case "tool_choice":
			err = chatToolChoice(r, v)
		case "parallel_tool_calls":
			var b bool
			b, err = chatBool(k.Str, v)
			r.ParallelTools = canon.TriOf(b)
		case "response_format":
			err = chatResponseFormat(r, v)
		case "reasoning_effort":
			err = chatReasoningEffort(r, v)
		case "thinking": // LiteLLM's extension, Anthropic's shape
			err = chatThinking(r, v)
		case "user":
			r.User, err = chatString(k.Str, v)
		case "safety_identifier":
			sid = v
		case "metadata":
			err = chatMetadata(r, v)
		case "service_tier":
			r.ServiceTier, err = chatString(k.Str, v)
		case "store":
			var b bool
			b, err = chatBool(k.Str, v)
			r.Store = canon.TriOf(b)
		case "logprobs":
			if v.Type == gjson.True {
				err = canon.Fieldf(k.Str, "log probabilities cannot be translated to this model's upstream; remove logprobs")
			}
		case "logit_bias":
			if !v.IsObject() || len(v.Map()) > 0 {
				err = canon.Fieldf(k.Str, "token biases are model-specific and cannot be translated to this model's upstream; remove logit_bias")
			}
		case "modalities":
			err = chatModalities(v)
		case "audio":
			err = canon.Fieldf(k.Str, "audio output cannot be translated to this model's upstream; remove audio")
		case "web_search_options":
			err = canon.Fieldf(k.Str, "web search cannot be translated to this model's upstream; remove web_search_options")
		case "functions", "function_call":
			err = canon.Fieldf(k.Str, "the deprecated functions API is not translated; send tools and tool_choice instead")
		case "top_logprobs", "prediction", "prompt_cache_key", "prompt_cache_retention", "verbosity":
			// Dropped (chat_codec.md): top_logprobs means nothing without
			// logprobs, refused above; the others are hints that only
			// OpenAI's models read and that change no reply's meaning.
		default:
			err = canon.Fieldf(chatKey(k.Str), "unknown field: it cannot be translated to this model's upstream; remove it")
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if r.User == "" && sid.Exists() {
		if r.User, err = chatString("safety_identifier", sid); err != nil {
			return err
		}
	}
	if maxComp.Exists() && maxComp.Type != gjson.Null {
		r.MaxTokens, err = chatCount("max_completion_tokens", maxComp)
	} else if maxTok.Exists() && maxTok.Type != gjson.Null {
		r.MaxTokens, err = chatCount("max_tokens", maxTok)
	}
	if err != nil {
		return err
	}
	if !msgs.IsArray() || !msgs.Get("0").Exists() {
		return canon.Fieldf("messages", "required: a non-empty array of messages")
	}
	return chatMessages(r, msgs)
}

// chatKey quotes a field name for a FieldError (a client's unknown key may
// hold anything).
func chatKey(k string) string {
	if len(k) > 64 {
		k = k[:64]
	}
	return strconv.QuoteToASCII(k)
}

func chatString(field string, v gjson.Result) (string, error) {
	if v.Type != gjson.String {
		return "", canon.Fieldf(field, "must be a string")
	}
	return chatStr(v), nil
}

func chatBool(field string, v gjson.Result) (bool, error) {
	if v.Type != gjson.True && v.Type != gjson.False {
		return false, canon.Fieldf(field, "must be true or false")
	}
	return v.Type == gjson.True, nil
}

// chatNumber returns a number as the raw JSON the client wrote.
func chatNumber(field string, v gjson.Result) ([]byte, error) {
	if v.Type != gjson.Number {
		return nil, canon.Fieldf(field, "must be a number")
	}
	return []byte(v.Raw), nil
}

// chatCount returns a positive whole number.
func chatCount(field string, v gjson.Result) (int64, error) {
	if v.Type != gjson.Number || v.Num != float64(int64(v.Num)) || v.Num < 1 || v.Num > 1<<53 {
		return 0, canon.Fieldf(field, "must be a whole number of at least 1")
	}
	return int64(v.Num), nil
}

func chatStreamOptions(r *canon.Request, v gjson.Result) error {
	if !v.IsObject() {
		return canon.Fieldf("stream_options", "must be an object")
	}
	// include_obfuscation (padding of stream events) is dropped.
	u := v.Get("include_usage")
	if u.Type != gjson.Null {
		b, err := chatBool("stream_options.include_usage", u)
		r.IncludeUsage = b
		return err
	}
	return nil
}

func chatChoices(r *canon.Request, v gjson.Result) error {
	n, err := chatCount("n", v)
	switch {
	case err != nil:
		return err
	case n > 1:
		return canon.Fieldf("n", "only one choice can be translated to this model's upstream; send n separate requests")
	}
	r.N = n
	return nil
}

func chatStop(r *canon.Request, v gjson.Result) error {
	if v.Type == gjson.String {
		r.Stop = append(r.Stop, chatStr(v))
		return nil
	}
	if !v.IsArray() {
		return canon.Fieldf("stop", "must be a string or an array of strings")
	}
	var err error
	i := 0
	v.ForEach(func(_, s gjson.Result) bool {
		if s.Type != gjson.String {
			err = canon.Fieldf("stop["+strconv.Itoa(i)+"]", "must be a string")
			return false
		}
		r.Stop = append(r.Stop, chatStr(s))
		i++
		return true
	})
	return err
}

// chatCache reads a cache_control breakpoint ({"type":"ephemeral",
// "ttl":"5m"|"1h"}), the extension LiteLLM and OpenRouter accept on
// content parts, messages and tools for Anthropic upstreams.
func chatCache(field string, v gjson.Result) (canon.Cache, error) {
	if v.Type == gjson.Null {
		return canon.Cache{}, nil
	}
	if !v.IsObject() || v.Get("type").Str != "ephemeral" {
		return canon.Cache{}, canon.Fieldf(field, `must be {"type":"ephemeral"} with an optional "ttl"`)
	}
	c := canon.Cache{Set: true}
	if ttl := v.Get("ttl"); ttl.Type != gjson.Null {
		if ttl.Type != gjson.String {
			return c, canon.Fieldf(field+".ttl", "must be a string such as \"5m\" or \"1h\"")
		}
		c.TTL = chatStr(ttl)
	}
	return c, nil
}

func chatTools(r *canon.Request, v gjson.Result) error {
	if !v.IsArray() {
		return canon.Fieldf("tools", "must be an array")
	}
	var err error
	i := 0
	v.ForEach(func(_, t gjson.Result) bool {
		err = chatTool(r, i, t)
		i++
		return err == nil
	})
	return err
}

func chatTool(r *canon.Request, i int, t gjson.Result) error {
	path := "tools[" + strconv.Itoa(i) + "]"
	if !t.IsObject() {
		return canon.Fieldf(path, "must be an object")
	}
	if typ := t.Get("type"); typ.Str != "function" {
		return canon.Fieldf(path+".type", "only function tools can be translated to this model's upstream")
	}
	fn := t.Get("function")
	if !fn.IsObject() {
		return canon.Fieldf(path+".function", "required: an object")
	}
	var tool canon.Tool
	var err error
	if tool.Name, err = chatString(path+".function.name", fn.Get("name")); err != nil {
		return err
	}
	if d := fn.Get("description"); d.Type != gjson.Null {
		if tool.Description, err = chatString(path+".function.description", d); err != nil {
			return err
		}
	}
	if p := fn.Get("parameters"); p.Type != gjson.Null {
		if !p.IsObject() {
			return canon.Fieldf(path+".function.parameters", "must be a JSON Schema object")
		}
		tool.Schema = strings.Clone(p.Raw)
	}
	if s := fn.Get("strict"); s.Type != gjson.Null {
		if tool.Strict, err = chatBool(path+".function.strict", s); err != nil {
			return err
		}
	}
	if tool.Cache, err = chatCache(path+".cache_control", t.Get("cache_control")); err != nil {
		return err
	}
	r.Tools = append(r.Tools, tool)
	return nil
}

func chatToolChoice(r *canon.Request, v gjson.Result) error {
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
			return canon.Fieldf("tool_choice", `must be "auto", "none", "required" or a function to call`)
		}
		return nil
	}
	if !v.IsObject() {
		return canon.Fieldf("tool_choice", `must be "auto", "none", "required" or a function to call`)
	}
	if v.Get("type").Str != "function" {
		return canon.Fieldf("tool_choice.type", "only a function choice can be translated to this model's upstream (not allowed_tools or custom)")
	}
	name := v.Get("function.name")
	if name.Type != gjson.String || name.Str == "" {
		return canon.Fieldf("tool_choice.function.name", "required: the name of the tool to call")
	}
	r.ToolChoice.Mode, r.ToolChoice.Name = canon.ToolNamed, chatStr(name)
	return nil
}

func chatResponseFormat(r *canon.Request, v gjson.Result) error {
	if !v.IsObject() {
		return canon.Fieldf("response_format", "must be an object")
	}
	switch v.Get("type").Str {
	case "text":
		r.Format.Kind = canon.FormatText
	case "json_object":
		r.Format.Kind = canon.FormatJSONObject
	case "json_schema":
		js := v.Get("json_schema")
		if !js.IsObject() {
			return canon.Fieldf("response_format.json_schema", "required: an object with name and schema")
		}
		r.Format.Kind = canon.FormatJSONSchema
		r.Format.Name = chatStr(js.Get("name")) // description is dropped
		if s := js.Get("schema"); s.Type != gjson.Null {
			if !s.IsObject() {
				return canon.Fieldf("response_format.json_schema.schema", "must be a JSON Schema object")
			}
			r.Format.Schema = strings.Clone(s.Raw)
		}
		r.Format.Strict = js.Get("strict").Type == gjson.True
	default:
		return canon.Fieldf("response_format.type", `must be "text", "json_object" or "json_schema"`)
	}
	return nil
}

func chatReasoningEffort(r *canon.Request, v gjson.Result) error {
	switch v.Str {
	case "none":
		r.Reasoning.Disabled = true
	case "minimal", "low", "medium", "high", "xhigh":
		r.Reasoning.Effort = chatStr(v)
	default:
		return canon.Fieldf("reasoning_effort", `must be "none", "minimal", "low", "medium", "high" or "xhigh"`)
	}
	return nil
}

// chatThinking reads LiteLLM's thinking extension: {"type":"enabled",
// "budget_tokens":N} or {"type":"disabled"}.
func chatThinking(r *canon.Request, v gjson.Result) error {
	switch v.Get("type").Str {
	case "enabled":
		n, err := chatCount("thinking.budget_tokens", v.Get("budget_tokens"))
		r.Reasoning.Budget = n
		return err
	case "disabled":
		r.Reasoning.Disabled = true
		return nil
	}
	return canon.Fieldf("thinking.type", `must be "enabled" (with budget_tokens) or "disabled"`)
}

func chatMetadata(r *canon.Request, v gjson.Result) error {
	if !v.IsObject() {
		return canon.Fieldf("metadata", "must be an object of strings")
	}
	var err error
	v.ForEach(func(k, val gjson.Result) bool {
		if val.Type != gjson.String {
			err = canon.Fieldf("metadata."+chatKey(k.Str), "must be a string")
			return false
		}
		r.Metadata = append(r.Metadata, canon.KV{Key: chatStr(k), Value: chatStr(val)})
		return true
	})
	return err
}

// chatModalities accepts ["text"]; audio output cannot be translated.
func chatModalities(v gjson.Result) error {
	if !v.IsArray() {
		return canon.Fieldf("modalities", `must be an array such as ["text"]`)
	}
	var err error
	v.ForEach(func(_, m gjson.Result) bool {
		if m.Str != "text" {
			err = canon.Fieldf("modalities", `only ["text"] can be translated to this model's upstream`)
		}
		return err == nil
	})
	return err
}
