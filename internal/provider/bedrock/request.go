package bedrock

import (
	"strconv"

	"github.com/sluice-gw/sluice/internal/provider/canon"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// EncodeRequest appends r as a Converse (or ConverseStream: the same body)
// request body. The model id is not in the body: it goes in the URL
// (UpstreamPath(r.Model, r.Stream)). TRANSLATION.md lists the rules; what
// Converse cannot carry and the request depends on is refused with a
// *canon.FieldError, and dst comes back as it was.
func EncodeRequest(dst []byte, r *canon.Request) ([]byte, error) {
	start := len(dst)
	out, err := encodeRequest(dst, r)
	if err != nil {
		return dst[:start], err
	}
	return out, nil
}

func encodeRequest(dst []byte, r *canon.Request) ([]byte, error) {
	switch {
	case r.N > 1:
		return dst, canon.Fieldf("n", "Bedrock Converse returns one choice: set n to 1 or leave it out")
	case r.Format.Kind == canon.FormatJSONObject:
		return dst, canon.Fieldf("response_format", "Bedrock Converse takes structured output as a JSON schema only: send response_format json_schema with a schema instead of json_object")
	case r.Format.Kind == canon.FormatJSONSchema && !isObject(r.Format.Schema):
		return dst, canon.Fieldf("response_format.json_schema.schema", "Bedrock Converse needs the schema as a JSON object")
	}
	e := encoder{dst: dst}
	if err := e.messages(r); err != nil {
		return dst, err
	}
	if err := e.system(r.System); err != nil {
		return dst, err
	}
	budget := int64(0)
	if family(r.Model) == "anthropic" {
		budget = thinkingBudget(r)
	}
	e.inferenceConfig(r, budget > 0)
	if err := e.toolConfig(r); err != nil {
		return dst, err
	}
	e.additionalFields(r, budget)
	if r.Format.Kind == canon.FormatJSONSchema {
		// The schema travels as a string holding JSON, not as an object.
		e.dst = append(e.dst, `,"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"schema":`...)
		e.dst = wire.AppendJSONString(e.dst, r.Format.Schema)
		if r.Format.Name != "" {
			e.dst = append(e.dst, `,"name":`...)
			e.dst = wire.AppendJSONString(e.dst, r.Format.Name)
		}
		e.dst = append(e.dst, `}}}}`...)
	}
	e.requestMetadata(r)
	switch r.ServiceTier {
	case "priority", "flex", "default":
		e.dst = append(e.dst, `,"serviceTier":{"type":"`...)
		e.dst = append(e.dst, r.ServiceTier...)
		e.dst = append(e.dst, `"}`...)
	}
	return append(e.dst, '}'), nil
}

// encoder writes one request body.
type encoder struct {
	dst    []byte
	blocks int      // content blocks written in the open message (or list)
	docs   []string // document names written, to keep them unique
}

// sep writes the comma before a block after the first.
func (e *encoder) sep() {
	if e.blocks > 0 {
		e.dst = append(e.dst, ',')
	}
	e.blocks++
}

// messages writes {"messages":[...] (the object stays open), merging
// consecutive messages of one role: Converse requires the roles to
// alternate. A message with nothing to send is left out.
func (e *encoder) messages(r *canon.Request) error {
	e.dst = append(e.dst, `{"messages":[`...)
	var role canon.Role
	for i := range r.Messages {
		m := &r.Messages[i]
		if m.Role != canon.RoleUser && m.Role != canon.RoleAssistant {
			return canon.Fieldf("messages["+strconv.Itoa(i)+"].role", "Bedrock Converse takes the roles user and assistant only")
		}
		if !sendsAny(m.Parts) {
			continue
		}
		if m.Role != role {
			if role != 0 {
				e.dst = append(e.dst, "]},"...)
			}
			if m.Role == canon.RoleUser {
				e.dst = append(e.dst, `{"role":"user","content":[`...)
			} else {
				e.dst = append(e.dst, `{"role":"assistant","content":[`...)
			}
			role, e.blocks = m.Role, 0
		}
		for j := range m.Parts {
			if err := e.block(&m.Parts[j], i, j); err != nil {
				return err
			}
		}
	}
	if role != 0 {
		e.dst = append(e.dst, "]}"...)
	}
	e.dst = append(e.dst, ']')
	return nil
}

// system writes "system" when a part has text.
func (e *encoder) system(parts []canon.Part) error {
	if !sendsAny(parts) {
		return nil
	}
	e.dst = append(e.dst, `,"system":[`...)
	e.blocks = 0
	for i := range parts {
		p := &parts[i]
		at := at{list: "system", i: i, j: -1, k: -1}
		if p.Kind != canon.PartText {
			return canon.Fieldf(at.field(""), "Bedrock Converse takes text only in the system prompt")
		}
		if p.Text != "" {
			e.sep()
			e.dst = append(e.dst, `{"text":`...)
			e.dst = wire.AppendJSONString(e.dst, p.Text)
			e.dst = append(e.dst, '}')
		}
		if err := e.cachePoint(p.Cache, at); err != nil {
			return err
		}
	}
	e.dst = append(e.dst, ']')
	return nil
}

// cachePoint writes a cache point after the last block when c is set (and
// a block was written before it).
func (e *encoder) cachePoint(c canon.Cache, at at) error {
	if !c.Set || e.blocks == 0 {
		return nil
	}
	switch c.TTL {
	case "", "5m":
		e.sep()
		e.dst = append(e.dst, `{"cachePoint":{"type":"default"}}`...)
	case "1h":
		e.sep()
		e.dst = append(e.dst, `{"cachePoint":{"type":"default","ttl":"1h"}}`...)
	default:
		return canon.Fieldf(at.field(".cache_control.ttl"), "Bedrock cache points last 5m or 1h")
	}
	return nil
}

// inferenceConfig writes inferenceConfig. With thinking on, Anthropic
// refuses a temperature and a top_p under 0.95: those are left out.
func (e *encoder) inferenceConfig(r *canon.Request, thinking bool) {
	temperature, topP := r.Temperature, r.TopP
	if thinking {
		temperature = nil
		if p, err := strconv.ParseFloat(string(topP), 64); err != nil || p < 0.95 {
			topP = nil
		}
	}
	if r.MaxTokens <= 0 && len(temperature) == 0 && len(topP) == 0 && len(r.Stop) == 0 {
		return
	}
	e.dst = append(e.dst, `,"inferenceConfig":{`...)
	n := len(e.dst)
	field := func(name string) {
		if len(e.dst) > n {
			e.dst = append(e.dst, ',')
		}
		e.dst = append(e.dst, name...)
	}
	if r.MaxTokens > 0 {
		field(`"maxTokens":`)
		e.dst = strconv.AppendInt(e.dst, r.MaxTokens, 10)
	}
	if len(temperature) > 0 {
		field(`"temperature":`)
		e.dst = append(e.dst, temperature...)
	}
	if len(topP) > 0 {
		field(`"topP":`)
		e.dst = append(e.dst, topP...)
	}
	if len(r.Stop) > 0 {
		field(`"stopSequences":[`)
		for i, s := range r.Stop {
			if i > 0 {
				e.dst = append(e.dst, ',')
			}
			e.dst = wire.AppendJSONString(e.dst, s)
		}
		e.dst = append(e.dst, ']')
	}
	e.dst = append(e.dst, '}')
}

// toolConfig writes "toolConfig". Converse has no tool choice "none": with
// ToolNone the tools are left out unless the conversation already holds
// tool calls or results (Converse then requires toolConfig), in which case
// they are sent without a choice and the model may still call one.
func (e *encoder) toolConfig(r *canon.Request) error {
	if len(r.Tools) == 0 || r.ToolChoice.Mode == canon.ToolNone && !hasToolParts(r.Messages) {
		return nil
	}
	e.dst = append(e.dst, `,"toolConfig":{"tools":[`...)
	e.blocks = 0
	for i := range r.Tools {
		t := &r.Tools[i]
		at := at{list: "tools", i: i, j: -1, k: -1}
		if t.Schema != "" && !isObject(t.Schema) {
			return canon.Fieldf(at.field(".parameters"), "Bedrock Converse needs a tool's parameters as a JSON Schema object")
		}
		e.sep()
		e.dst = append(e.dst, `{"toolSpec":{"name":`...)
		e.dst = wire.AppendJSONString(e.dst, t.Name)
		if t.Description != "" {
			e.dst = append(e.dst, `,"description":`...)
			e.dst = wire.AppendJSONString(e.dst, t.Description)
		}
		e.dst = append(e.dst, `,"inputSchema":{"json":`...)
		if t.Schema == "" {
			e.dst = append(e.dst, `{"type":"object","properties":{}}`...)
		} else {
			e.dst = append(e.dst, t.Schema...)
		}
		e.dst = append(e.dst, '}')
		if t.Strict {
			e.dst = append(e.dst, `,"strict":true`...)
		}
		e.dst = append(e.dst, `}}`...)
		if err := e.cachePoint(t.Cache, at); err != nil {
			return err
		}
	}
	e.dst = append(e.dst, ']')
	if c := r.ToolChoice; c.Set {
		switch c.Mode {
		case canon.ToolAuto:
			e.dst = append(e.dst, `,"toolChoice":{"auto":{}}`...)
		case canon.ToolRequired:
			e.dst = append(e.dst, `,"toolChoice":{"any":{}}`...)
		case canon.ToolNamed:
			if c.Name == "" {
				return canon.Fieldf("tool_choice", "name the tool the model must call")
			}
			e.dst = append(e.dst, `,"toolChoice":{"tool":{"name":`...)
			e.dst = wire.AppendJSONString(e.dst, c.Name)
			e.dst = append(e.dst, `}}`...)
		}
	}
	e.dst = append(e.dst, '}')
	return nil
}

// Thinking budgets for an effort, for Anthropic models on Bedrock (1024 is
// Anthropic's minimum budget).
var effortBudget = map[string]int64{"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384}

// thinkingBudget returns the budget_tokens to send (0: none): the
// client's budget, else its effort's, lowered below max tokens (which
// Anthropic requires) — and none at all when that leaves less than 1024.
// Anthropic refuses thinking beside a forced tool choice, and when the last
// assistant message calls a tool without a thinking block first (as one
// from another vendor, or an OpenAI client that dropped the reasoning,
// does): no thinking then either.
func thinkingBudget(r *canon.Request) int64 {
	rs := &r.Reasoning
	if rs.Disabled || rs.Effort == "none" || r.ToolChoice.Mode == canon.ToolRequired || r.ToolChoice.Mode == canon.ToolNamed ||
		unsignedToolTurn(r.Messages) {
		return 0
	}
	if rs.Budget > 0 {
		return rs.Budget
	}
	b, ok := effortBudget[rs.Effort]
	if rs.Budget < 0 { // dynamic (Gemini -1)
		b, ok = effortBudget["medium"], true
	}
	if !ok {
		return 0
	}
	if r.MaxTokens > 0 && b >= r.MaxTokens {
		if b = r.MaxTokens - 1; b < 1024 {
			return 0
		}
	}
	return b
}

// unsignedToolTurn reports whether the last assistant message calls a
// tool and the first block written for it is not a thinking block.
func unsignedToolTurn(msgs []canon.Message) bool {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role != canon.RoleAssistant {
			continue
		}
		calls, first := false, canon.PartKind(0)
		for j := range msgs[i].Parts {
			p := &msgs[i].Parts[j]
			calls = calls || p.Kind == canon.PartToolCall
			if first == 0 && sends(p) {
				first = p.Kind
			}
		}
		return calls && first != canon.PartThinking
	}
	return false
}

// additionalFields writes additionalModelRequestFields: top_k and
// thinking (budget, 0: none), in the shape the model's vendor takes, for
// the vendors the model id names (family). Anthropic refuses top_k with
// thinking on: it is left out then.
func (e *encoder) additionalFields(r *canon.Request, budget int64) {
	fam := family(r.Model)
	topK := len(r.TopK) > 0 && fam != "" && budget == 0
	if !topK && budget == 0 {
		return
	}
	e.dst = append(e.dst, `,"additionalModelRequestFields":{`...)
	if topK {
		if fam == "nova" {
			e.dst = append(e.dst, `"inferenceConfig":{"topK":`...)
			e.dst = append(append(e.dst, r.TopK...), '}')
		} else {
			e.dst = append(append(e.dst, `"top_k":`...), r.TopK...)
		}
	}
	if budget > 0 {
		if topK {
			e.dst = append(e.dst, ',')
		}
		e.dst = append(e.dst, `"thinking":{"type":"enabled","budget_tokens":`...)
		e.dst = strconv.AppendInt(e.dst, budget, 10)
		e.dst = append(e.dst, '}')
	}
	e.dst = append(e.dst, '}')
}

// requestMetadata writes the client's metadata pairs, and its user as
// "user" (unless a pair has that key), as requestMetadata (which tags
// Bedrock's invocation logs): at most 16 pairs, each key 1 to 256 and each
// value 0 to 256 characters of [a-zA-Z0-9 whitespace : _ @ $ # = / + , - .];
// pairs outside those bounds are dropped.
func (e *encoder) requestMetadata(r *canon.Request) {
	n := 0
	add := func(k, v string) {
		if n == 16 || !metaValid(k, 1) || !metaValid(v, 0) {
			return
		}
		if n == 0 {
			e.dst = append(e.dst, `,"requestMetadata":{`...)
		} else {
			e.dst = append(e.dst, ',')
		}
		n++
		e.dst = wire.AppendJSONString(e.dst, k)
		e.dst = append(e.dst, ':')
		e.dst = wire.AppendJSONString(e.dst, v)
	}
	userKey := false
	for _, kv := range r.Metadata {
		userKey = userKey || kv.Key == "user"
		add(kv.Key, kv.Value)
	}
	if r.User != "" && !userKey {
		add("user", r.User)
	}
	if n > 0 {
		e.dst = append(e.dst, '}')
	}
}

func metaValid(s string, min int) bool {
	if len(s) < min || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == ' ', c == '\t', c == '\n', c == '\r', c == '\f', c == '\v':
		case c == ':', c == '_', c == '@', c == '$', c == '#', c == '=', c == '/', c == '+', c == ',', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

// at is where a part or tool sits in the request, named in a FieldError
// (built only then): list[i], and .content[j] and .content[k] below it
// where j and k are not -1.
type at struct {
	list    string
	i, j, k int
}

func (a at) field(suffix string) string {
	s := a.list + "[" + strconv.Itoa(a.i) + "]"
	if a.j >= 0 {
		s += ".content[" + strconv.Itoa(a.j) + "]"
	}
	if a.k >= 0 {
		s += ".content[" + strconv.Itoa(a.k) + "]"
	}
	return s + suffix
}

// isObject reports whether s is a JSON object (valid JSON whose first
// non-space byte is '{').
func isObject(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return validJSON(s)
		}
		return false
	}
	return false
}
