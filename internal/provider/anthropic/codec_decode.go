package anthropic

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// codecDecodeRequest reads an Anthropic client's Messages request into r.
// Every top-level field the API documents is carried, dropped by a rule or
// refused (TRANSLATION.md); a field it does not document is refused, since
// what it would change cannot be known.
func codecDecodeRequest(body []byte, r *canon.Request) error {
	r.Reset()
	if !gjson.ValidBytes(body) {
		return canon.ErrInvalidJSON
	}
	root := gjson.Parse(wire.StringView(body))
	if !root.IsObject() {
		return canon.Fieldf("body", "must be a JSON object")
	}
	var err error
	var cache, outputFormat, outputConfig, thinking gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			if v.Type != gjson.String {
				err = canon.Fieldf("model", "must be a string")
			}
			r.Model = codecStr(v)
		case "messages":
			err = codecDecodeMessages(v, r)
		case "system":
			r.System, err = codecDecodeSystem(v, r.System)
		case "max_tokens":
			err = codecDecodeMaxTokens(v, r)
		case "temperature":
			r.Temperature, err = codecNumber(v, "temperature", r.Temperature)
		case "top_p":
			r.TopP, err = codecNumber(v, "top_p", r.TopP)
		case "top_k":
			r.TopK, err = codecNumber(v, "top_k", r.TopK)
		case "stop_sequences":
			err = codecDecodeStop(v, r)
		case "stream":
			r.Stream = v.Type == gjson.True
		case "metadata":
			if u := v.Get("user_id"); u.Type == gjson.String {
				r.User = codecStr(u)
			}
		case "tools":
			err = codecDecodeTools(v, r)
		case "tool_choice":
			err = codecDecodeToolChoice(v, r)
		case "thinking":
			thinking = v
		case "output_config":
			outputConfig = v
		case "output_format":
			outputFormat = v
		case "service_tier":
			r.ServiceTier = codecStr(v)
		case "cache_control":
			cache = v
		case "speed", "diagnostics":
			// Dropped: speed is a latency preference (fast mode),
			// diagnostics asks for cache-miss reasons; neither changes
			// the answer.
		case "container", "mcp_servers", "context_management", "compaction",
			"fallbacks", "fallback_credit_token", "inference_geo":
			err = canon.Fieldf(k.Str, "is served by Anthropic only: send this request to a model with an Anthropic upstream, or leave the field out")
		default:
			err = canon.Fieldf(k.Str, "is not a Messages API field Sluice can translate: leave it out, or send this request to a model with an Anthropic upstream")
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if outputConfig.Exists() {
		if err := codecDecodeOutputConfig(outputConfig, r); err != nil {
			return err
		}
	}
	if outputFormat.Exists() && r.Format.Kind == canon.FormatText {
		if err := codecDecodeFormat(outputFormat, "output_format", r); err != nil {
			return err
		}
	}
	if thinking.Exists() {
		if err := codecDecodeThinking(thinking, r); err != nil {
			return err
		}
	}
	if cache.Exists() {
		c, err := codecDecodeCache(cache, "cache_control")
		if err != nil {
			return err
		}
		codecAutoCache(r, c)
	}
	return nil
}

// codecNumber copies a raw JSON number.
func codecNumber(v gjson.Result, field string, dst []byte) ([]byte, error) {
	if v.Type == gjson.Null {
		return dst[:0], nil
	}
	if v.Type != gjson.Number {
		return dst, canon.Fieldf(field, "must be a number")
	}
	return append(dst[:0], v.Raw...), nil
}

func codecDecodeMaxTokens(v gjson.Result, r *canon.Request) error {
	n, err := strconv.ParseInt(v.Raw, 10, 64)
	switch {
	case v.Type != gjson.Number || err != nil || n < 0:
		return canon.Fieldf("max_tokens", "must be a positive integer")
	case n == 0:
		return canon.Fieldf("max_tokens", "0 (pre-warming the prompt cache) is served by Anthropic only: send this request to a model with an Anthropic upstream")
	}
	r.MaxTokens = n
	return nil
}

func codecDecodeStop(v gjson.Result, r *canon.Request) error {
	if v.Type == gjson.Null {
		return nil
	}
	if !v.IsArray() {
		return canon.Fieldf("stop_sequences", "must be an array of strings")
	}
	var err error
	i := 0
	v.ForEach(func(_, s gjson.Result) bool {
		if s.Type != gjson.String {
			err = canon.Fieldf("stop_sequences["+strconv.Itoa(i)+"]", "must be a string")
			return false
		}
		r.Stop = append(r.Stop, codecStr(s))
		i++
		return true
	})
	return err
}

// codecDecodeSystem reads system: a string or text blocks.
func codecDecodeSystem(v gjson.Result, dst []canon.Part) ([]canon.Part, error) {
	switch {
	case v.Type == gjson.String:
		return append(dst, canon.Part{Kind: canon.PartText, Text: codecStr(v)}), nil
	case v.Type == gjson.Null:
		return dst, nil
	case !v.IsArray():
		return dst, canon.Fieldf("system", "must be a string or an array of text blocks")
	}
	var err error
	i := 0
	v.ForEach(func(_, b gjson.Result) bool {
		path := "system[" + strconv.Itoa(i) + "]"
		i++
		if t := b.Get("type").Str; t != "text" {
			err = canon.Fieldf(path+".type", "system blocks must be text blocks")
			return false
		}
		p := canon.Part{Kind: canon.PartText, Text: codecStr(b.Get("text"))}
		if c := b.Get("cache_control"); c.Exists() {
			if p.Cache, err = codecDecodeCache(c, path+".cache_control"); err != nil {
				return false
			}
		}
		dst = append(dst, p)
		return true
	})
	return dst, err
}

// codecDecodeCache reads a cache_control object: {type: ephemeral, ttl?}.
func codecDecodeCache(v gjson.Result, path string) (canon.Cache, error) {
	if v.Type == gjson.Null {
		return canon.Cache{}, nil
	}
	if v.Get("type").Str != "ephemeral" {
		return canon.Cache{}, canon.Fieldf(path+".type", `must be "ephemeral"`)
	}
	c := canon.Cache{Set: true}
	if ttl := v.Get("ttl"); ttl.Exists() {
		if ttl.Type != gjson.String {
			return c, canon.Fieldf(path+".ttl", `must be "5m" or "1h"`)
		}
		c.TTL = codecStr(ttl)
	}
	return c, nil
}

// codecAutoCache places the breakpoint of the top-level cache_control
// where Anthropic does: on the last cacheable block of the request (the
// last message's last part that is not thinking, else the last system
// block, else the last tool).
func codecAutoCache(r *canon.Request, c canon.Cache) {
	if !c.Set {
		return
	}
	if n := len(r.Messages); n > 0 {
		parts := r.Messages[n-1].Parts
		for i := len(parts) - 1; i >= 0; i-- {
			if parts[i].Kind != canon.PartThinking {
				parts[i].Cache = c
				return
			}
		}
	}
	if n := len(r.System); n > 0 {
		r.System[n-1].Cache = c
		return
	}
	if n := len(r.Tools); n > 0 {
		r.Tools[n-1].Cache = c
	}
}

// codecDecodeTools reads the tools: custom tools only, since a server tool
// runs at Anthropic.
func codecDecodeTools(v gjson.Result, r *canon.Request) error {
	if v.Type == gjson.Null {
		return nil
	}
	if !v.IsArray() {
		return canon.Fieldf("tools", "must be an array")
	}
	var err error
	i := 0
	v.ForEach(func(_, t gjson.Result) bool {
		path := func(field string) string { return "tools[" + strconv.Itoa(i) + "]." + field }
		var typ, name, desc, schema, strict, cache, deferLoading, callers gjson.Result
		t.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "type":
				typ = v
			case "name":
				name = v
			case "description":
				desc = v
			case "input_schema":
				schema = v
			case "strict":
				strict = v
			case "cache_control":
				cache = v
			case "defer_loading":
				deferLoading = v
			case "allowed_callers":
				callers = v
			}
			// Dropped: input_examples (guidance only) and
			// eager_input_streaming (how the input streams).
			return true
		})
		switch {
		case typ.Exists() && typ.Str != "custom":
			err = canon.Fieldf(path("type"), "a server tool ("+typ.Str+") runs at Anthropic: send this request to a model with an Anthropic upstream, or define it as a custom tool")
		case name.Type != gjson.String || name.Str == "":
			err = canon.Fieldf(path("name"), "must be a non-empty string")
		case deferLoading.Type == gjson.True:
			err = canon.Fieldf(path("defer_loading"), "deferred tools are loaded by Anthropic's tool search: send this request to a model with an Anthropic upstream")
		case callers.Exists() && callers.Type != gjson.Null && callers.Raw != `["direct"]`:
			err = canon.Fieldf(path("allowed_callers"), "programmatic tool calling runs at Anthropic: send this request to a model with an Anthropic upstream")
		}
		if err != nil {
			return false
		}
		tool := canon.Tool{Name: codecStr(name), Description: codecStr(desc), Strict: strict.Type == gjson.True}
		if schema.IsObject() {
			tool.Schema = strings.Clone(schema.Raw)
		}
		if cache.Exists() {
			if tool.Cache, err = codecDecodeCache(cache, path("cache_control")); err != nil {
				return false
			}
		}
		r.Tools = append(r.Tools, tool)
		i++
		return true
	})
	return err
}

func codecDecodeToolChoice(v gjson.Result, r *canon.Request) error {
	if v.Type == gjson.Null {
		return nil
	}
	tc := canon.ToolChoice{Set: true}
	switch v.Get("type").Str {
	case "auto":
		tc.Mode = canon.ToolAuto
	case "any":
		tc.Mode = canon.ToolRequired
	case "none":
		tc.Mode = canon.ToolNone
	case "tool":
		tc.Mode = canon.ToolNamed
		if n := v.Get("name"); n.Type != gjson.String || n.Str == "" {
			return canon.Fieldf("tool_choice.name", "must name a tool")
		} else {
			tc.Name = codecStr(n)
		}
	default:
		return canon.Fieldf("tool_choice.type", `must be "auto", "any", "tool" or "none"`)
	}
	r.ToolChoice = tc
	if d := v.Get("disable_parallel_tool_use"); d.Exists() {
		r.ParallelTools = canon.TriOf(d.Type != gjson.True)
	}
	return nil
}

// codecDecodeThinking reads thinking (after output_config, whose effort
// adaptive thinking takes): enabled with a budget, disabled, or adaptive
// (the effort asked for, else "high", most models' default).
func codecDecodeThinking(v gjson.Result, r *canon.Request) error {
	if v.Type == gjson.Null {
		return nil
	}
	switch v.Get("type").Str {
	case "enabled":
		b := v.Get("budget_tokens")
		n, err := strconv.ParseInt(b.Raw, 10, 64)
		if b.Type != gjson.Number || err != nil || n < 1 {
			return canon.Fieldf("thinking.budget_tokens", "must be a positive integer")
		}
		r.Reasoning.Budget = n
	case "disabled":
		// An effort with thinking off is dropped: the canonical form
		// reads an effort as asking for reasoning.
		r.Reasoning = canon.Reasoning{Disabled: true}
		return nil
	case "adaptive":
		if r.Reasoning.Effort == "" {
			r.Reasoning.Effort = "high"
		}
	default:
		return canon.Fieldf("thinking.type", `must be "enabled", "adaptive" or "disabled"`)
	}
	if v.Get("display").Str == "summarized" {
		r.Reasoning.Summary = "auto"
	}
	return nil
}

// codecDecodeOutputConfig reads output_config: effort and format.
func codecDecodeOutputConfig(v gjson.Result, r *canon.Request) error {
	if v.Type == gjson.Null {
		return nil
	}
	if !v.IsObject() {
		return canon.Fieldf("output_config", "must be an object")
	}
	var err error
	v.ForEach(func(k, f gjson.Result) bool {
		switch k.Str {
		case "effort":
			switch f.Str {
			case "low", "medium", "high", "xhigh", "max":
				r.Reasoning.Effort = f.Str
			default:
				err = canon.Fieldf("output_config.effort", `must be "low", "medium", "high", "xhigh" or "max"`)
			}
		case "format":
			err = codecDecodeFormat(f, "output_config.format", r)
		case "task_budget":
			err = canon.Fieldf("output_config.task_budget", "task budgets are served by Anthropic only: send this request to a model with an Anthropic upstream")
		default:
			err = canon.Fieldf("output_config."+k.Str, "is not an output_config field Sluice can translate")
		}
		return err == nil
	})
	return err
}

// codecDecodeFormat reads {type: json_schema, schema}.
func codecDecodeFormat(v gjson.Result, path string, r *canon.Request) error {
	if v.Type == gjson.Null {
		return nil
	}
	if v.Get("type").Str != "json_schema" {
		return canon.Fieldf(path+".type", `must be "json_schema"`)
	}
	s := v.Get("schema")
	if !s.IsObject() {
		return canon.Fieldf(path+".schema", "must be a JSON Schema object")
	}
	r.Format = canon.ResponseFormat{Kind: canon.FormatJSONSchema, Schema: strings.Clone(s.Raw), Strict: true}
	return nil
}
