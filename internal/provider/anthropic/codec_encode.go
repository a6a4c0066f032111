package anthropic

import (
	"strconv"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// codecMaxBreakpoints is how many cache_control breakpoints Anthropic
// takes in one request; the encoder keeps the last ones.
const codecMaxBreakpoints = 4

// codecThinkKind is the thinking object the encoder writes.
type codecThinkKind uint8

const (
	codecThinkOmit codecThinkKind = iota
	codecThinkEnabled
	codecThinkAdaptiveOn
	codecThinkDisabled
)

// codecPlan is what the encoder decided about thinking and max_tokens.
type codecPlan struct {
	think     codecThinkKind
	budget    int64
	effort    string // output_config.effort; empty: none
	maxTokens int64
}

// codecPlanThinking decides the thinking, effort and max_tokens a request
// to a model of profile p carries (TRANSLATION.md, "Thinking").
func codecPlanThinking(r *canon.Request, p *codecProfile) (codecPlan, error) {
	pl := codecPlan{maxTokens: r.MaxTokens}
	if pl.maxTokens == 0 {
		pl.maxTokens = p.maxOut
	}
	rs := &r.Reasoning
	effort := rs.Effort
	if effort != "" && effort != "none" {
		if _, ok := codecEffortBudget(effort); !ok {
			return pl, canon.Fieldf("reasoning_effort", `must be "minimal", "low", "medium", "high", "xhigh" or "max"`)
		}
	}
	forced := r.ToolChoice.Mode == canon.ToolRequired || r.ToolChoice.Mode == canon.ToolNamed
	switch {
	case rs.Disabled || effort == "none":
		if p.think == codecThinkBudget || p.think == codecThinkBoth {
			pl.think = codecThinkDisabled
		}
		return pl, nil
	case effort == "" && rs.Budget == 0, p.think == codecThinkNone:
		return pl, nil
	case forced, codecUnsignedToolTurn(r.Messages):
		// Anthropic refuses thinking beside a forced tool, and when the
		// last assistant message calls a tool without a signed thinking
		// block first (as one from another vendor does): thinking is left
		// out, the effort stays where the model takes one.
		if p.effort && effort != "" {
			pl.effort, _ = codecEffort(p, effort)
		}
		return pl, nil
	}
	if p.think == codecThinkAdaptive || p.think == codecThinkBoth && rs.Budget == 0 {
		pl.think = codecThinkAdaptiveOn
		switch {
		case effort != "":
			pl.effort, _ = codecEffort(p, effort)
		case rs.Budget > 0:
			pl.effort, _ = codecEffort(p, codecBudgetEffort(rs.Budget))
		}
		return pl, nil
	}
	pl.think = codecThinkEnabled
	budget := rs.Budget
	switch {
	case budget == 0:
		budget, _ = codecEffortBudget(effort)
	case budget < 0:
		budget = codecDynamicBudget
	}
	budget = max(budget, codecMinBudget)
	if budget >= pl.maxTokens {
		// The answer keeps the room asked for, within the model's limit.
		pl.maxTokens += budget
		if p.known && pl.maxTokens > p.maxOut {
			pl.maxTokens = p.maxOut
		}
		if budget >= pl.maxTokens {
			budget = max(pl.maxTokens-codecAnswerRoom, codecMinBudget)
			pl.maxTokens = max(pl.maxTokens, budget+codecAnswerRoom)
		}
	}
	pl.budget = budget
	if p.effort && effort != "" {
		pl.effort, _ = codecEffort(p, effort)
	}
	return pl, nil
}

// codecUnsignedToolTurn reports whether the last assistant message calls
// a tool and does not start with a thinking block the encoder writes (one
// with a signature, or redacted).
func codecUnsignedToolTurn(msgs []canon.Message) bool {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role != canon.RoleAssistant {
			continue
		}
		parts := msgs[i].Parts
		calls, first := false, canon.PartKind(0)
		for j := range parts {
			p := &parts[j]
			if p.Kind == canon.PartToolCall {
				calls = true
			}
			if first == 0 && (p.Kind == canon.PartThinking && (p.Signature != "" || p.Redacted != "") ||
				p.Kind != canon.PartThinking && codecCacheable(p, false)) {
				first = p.Kind
			}
		}
		return calls && first != canon.PartThinking
	}
	return false
}

// codecReqEnc writes one request body.
type codecReqEnc struct {
	dst []byte
	// skip is how many cache breakpoints are still to drop: those before
	// the last four.
	skip int
}

// codecEncodeRequest appends r as a Messages request to an Anthropic
// upstream.
func codecEncodeRequest(dst []byte, r *canon.Request) ([]byte, error) {
	switch {
	case r.N > 1:
		return dst, canon.Fieldf("n", "Anthropic returns one message: ask for one choice")
	case r.PreviousResponseID != "":
		return dst, canon.Fieldf("previous_response_id", "a stored conversation is the Responses API's: send the whole conversation")
	case r.Store == canon.TriTrue:
		return dst, canon.Fieldf("store", "Anthropic stores no replies: leave store out")
	case r.Format.Kind == canon.FormatJSONSchema && r.Format.Schema == "":
		return dst, canon.Fieldf("response_format", "a JSON schema format needs a schema")
	}
	prof := codecModelProfile(r.Model)
	pl, err := codecPlanThinking(r, &prof)
	if err != nil {
		return dst, err
	}
	start := len(dst)
	e := codecReqEnc{dst: dst, skip: max(codecCountBreakpoints(r)-codecMaxBreakpoints, 0)}
	e.dst = append(e.dst, `{"model":`...)
	e.dst = wire.AppendJSONString(e.dst, r.Model)
	e.dst = append(e.dst, `,"max_tokens":`...)
	e.dst = strconv.AppendInt(e.dst, pl.maxTokens, 10)
	if r.Stream {
		e.dst = append(e.dst, `,"stream":true`...)
	}
	e.sampling(r, &prof, pl.think == codecThinkEnabled || pl.think == codecThinkAdaptiveOn)
	if len(r.Stop) > 0 {
		e.dst = append(e.dst, `,"stop_sequences":[`...)
		for i, s := range r.Stop {
			if i > 0 {
				e.dst = append(e.dst, ',')
			}
			e.dst = wire.AppendJSONString(e.dst, s)
		}
		e.dst = append(e.dst, ']')
	}
	if r.User != "" {
		e.dst = append(e.dst, `,"metadata":{"user_id":`...)
		e.dst = wire.AppendJSONString(e.dst, r.User)
		e.dst = append(e.dst, '}')
	}
	switch r.ServiceTier {
	case "auto", "priority":
		e.dst = append(e.dst, `,"service_tier":"auto"`...)
	case "standard_only", "default":
		e.dst = append(e.dst, `,"service_tier":"standard_only"`...)
	}
	e.thinking(&pl, r.Reasoning.Summary != "")
	if pl.effort != "" || r.Format.Kind == canon.FormatJSONSchema {
		e.dst = append(e.dst, `,"output_config":{`...)
		if pl.effort != "" {
			e.dst = append(e.dst, `"effort":`...)
			e.dst = wire.AppendJSONString(e.dst, pl.effort)
		}
		if r.Format.Kind == canon.FormatJSONSchema {
			if pl.effort != "" {
				e.dst = append(e.dst, ',')
			}
			e.dst = append(e.dst, `"format":{"type":"json_schema","schema":`...)
			e.dst = append(e.dst, r.Format.Schema...)
			e.dst = append(e.dst, '}')
		}
		e.dst = append(e.dst, '}')
	}
	e.tools(r)
	e.system(r.System)
	if err := e.messages(r.Messages); err != nil {
		return dst[:start], err
	}
	return append(e.dst, '}'), nil
}

// sampling writes temperature, top_p and top_k where the model takes them:
// models from Opus 4.7 on take none, and with thinking on Anthropic takes
// no temperature or top_k and a top_p of 0.95 or more only.
func (e *codecReqEnc) sampling(r *canon.Request, p *codecProfile, thinking bool) {
	if !p.sampling {
		return
	}
	if len(r.Temperature) > 0 && !thinking {
		e.dst = append(append(e.dst, `,"temperature":`...), r.Temperature...)
	}
	if len(r.TopP) > 0 {
		if f, err := strconv.ParseFloat(string(r.TopP), 64); !thinking || err == nil && f >= 0.95 {
			e.dst = append(append(e.dst, `,"top_p":`...), r.TopP...)
		}
	}
	if len(r.TopK) > 0 && !thinking {
		e.dst = append(append(e.dst, `,"top_k":`...), r.TopK...)
	}
}

// thinking writes the thinking object the plan chose; display asks
// adaptive thinking for its summarized text (some models omit it by
// default).
func (e *codecReqEnc) thinking(pl *codecPlan, display bool) {
	switch pl.think {
	case codecThinkEnabled:
		e.dst = append(e.dst, `,"thinking":{"type":"enabled","budget_tokens":`...)
		e.dst = strconv.AppendInt(e.dst, pl.budget, 10)
		e.dst = append(e.dst, '}')
	case codecThinkAdaptiveOn:
		e.dst = append(e.dst, `,"thinking":{"type":"adaptive"`...)
		if display {
			e.dst = append(e.dst, `,"display":"summarized"`...)
		}
		e.dst = append(e.dst, '}')
	case codecThinkDisabled:
		e.dst = append(e.dst, `,"thinking":{"type":"disabled"}`...)
	}
}

// cache writes the breakpoint c, unless it is one of those dropped.
func (e *codecReqEnc) cache(c canon.Cache) {
	if !c.Set {
		return
	}
	if e.skip > 0 {
		e.skip--
		return
	}
	e.dst = append(e.dst, `,"cache_control":{"type":"ephemeral"`...)
	if c.TTL != "" {
		e.dst = append(e.dst, `,"ttl":`...)
		e.dst = wire.AppendJSONString(e.dst, c.TTL)
	}
	e.dst = append(e.dst, '}')
}

// tools writes tools and, with them, tool_choice (Anthropic refuses a tool
// choice without tools).
func (e *codecReqEnc) tools(r *canon.Request) {
	if len(r.Tools) == 0 {
		return
	}
	e.dst = append(e.dst, `,"tools":[`...)
	for i := range r.Tools {
		t := &r.Tools[i]
		if i > 0 {
			e.dst = append(e.dst, ',')
		}
		e.dst = append(e.dst, `{"name":`...)
		e.dst = wire.AppendJSONString(e.dst, t.Name)
		if t.Description != "" {
			e.dst = append(e.dst, `,"description":`...)
			e.dst = wire.AppendJSONString(e.dst, t.Description)
		}
		e.dst = append(e.dst, `,"input_schema":`...)
		if t.Schema != "" {
			e.dst = append(e.dst, t.Schema...)
		} else {
			e.dst = append(e.dst, `{"type":"object","properties":{}}`...)
		}
		if t.Strict {
			e.dst = append(e.dst, `,"strict":true`...)
		}
		e.cache(t.Cache)
		e.dst = append(e.dst, '}')
	}
	e.dst = append(e.dst, ']')
	tc := &r.ToolChoice
	noParallel := r.ParallelTools == canon.TriFalse
	if !tc.Set && !noParallel {
		return
	}
	switch tc.Mode {
	case canon.ToolNone:
		e.dst = append(e.dst, `,"tool_choice":{"type":"none"}`...)
		return
	case canon.ToolRequired:
		e.dst = append(e.dst, `,"tool_choice":{"type":"any"`...)
	case canon.ToolNamed:
		e.dst = append(e.dst, `,"tool_choice":{"type":"tool","name":`...)
		e.dst = wire.AppendJSONString(e.dst, tc.Name)
	default:
		e.dst = append(e.dst, `,"tool_choice":{"type":"auto"`...)
	}
	if noParallel {
		e.dst = append(e.dst, `,"disable_parallel_tool_use":true`...)
	}
	e.dst = append(e.dst, '}')
}

// system writes the system prompt: a string when it is one part without a
// breakpoint, else text blocks. Empty parts are left out (Anthropic
// refuses empty text blocks).
func (e *codecReqEnc) system(parts []canon.Part) {
	n, cached := 0, false
	for i := range parts {
		if codecSystemPart(&parts[i]) {
			n++
			cached = cached || parts[i].Cache.Set
		}
	}
	switch {
	case n == 0:
		return
	case n == 1 && !cached:
		for i := range parts {
			if codecSystemPart(&parts[i]) {
				e.dst = append(e.dst, `,"system":`...)
				e.dst = wire.AppendJSONString(e.dst, parts[i].Text)
			}
		}
		return
	}
	e.dst = append(e.dst, `,"system":[`...)
	first := true
	for i := range parts {
		p := &parts[i]
		if !codecSystemPart(p) {
			continue
		}
		if !first {
			e.dst = append(e.dst, ',')
		}
		first = false
		e.dst = append(e.dst, `{"type":"text","text":`...)
		e.dst = wire.AppendJSONString(e.dst, p.Text)
		e.cache(p.Cache)
		e.dst = append(e.dst, '}')
	}
	e.dst = append(e.dst, ']')
}

// codecSystemPart reports whether a system part is written: text that is
// not empty.
func codecSystemPart(p *canon.Part) bool {
	return (p.Kind == canon.PartText || p.Kind == canon.PartRefusal) && p.Text != ""
}

// codecCountBreakpoints counts the breakpoints the encoder would write,
// in the order Anthropic reads the prompt: tools, system, messages.
func codecCountBreakpoints(r *canon.Request) int {
	n := 0
	for i := range r.Tools {
		if r.Tools[i].Cache.Set {
			n++
		}
	}
	for i := range r.System {
		if r.System[i].Cache.Set && codecSystemPart(&r.System[i]) {
			n++
		}
	}
	for i := range r.Messages {
		parts := r.Messages[i].Parts
		for j := range parts {
			p := &parts[j]
			if p.Cache.Set && codecCacheable(p, false) {
				n++
			}
			if p.Kind == canon.PartToolResult {
				for k := range p.Content {
					if c := &p.Content[k]; c.Cache.Set && codecCacheable(c, true) {
						n++
					}
				}
			}
		}
	}
	return n
}
