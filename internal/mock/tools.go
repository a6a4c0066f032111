package mock

import (
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// toolCall is the one tool call a reply makes when the request offers tools and forces
// a call: OpenAI tool_choice "required" or a named function, Anthropic tool_choice
// {"type":"any"} or {"type":"tool","name":...}, Gemini
// toolConfig.functionCallingConfig.mode "ANY" (within allowedFunctionNames), Bedrock
// toolConfig.toolChoice {"any":{}} or {"tool":{"name":...}}. Anything else gets a text
// reply.
type toolCall struct {
	name []byte // unescaped
	args []byte // a compact JSON value built from the tool's parameter schema (args.go)
}

// fragmentLen is the size of the pieces a streamed tool call's arguments are sent in.
const fragmentLen = 12

// tokens counts the call's arguments for usage, like prompt text.
func (t *toolCall) tokens() int { return estimateTokens(len(t.name) + len(t.args)) }

// fragments returns how many pieces fragment cuts the arguments into.
func (t *toolCall) fragments() int {
	n := 0
	for i := 0; i < len(t.args); n++ {
		i += len(t.fragment(i))
	}
	return n
}

// fragment returns the piece of the arguments starting at i, never splitting a UTF-8
// sequence.
func (t *toolCall) fragment(i int) []byte {
	j := min(i+fragmentLen, len(t.args))
	for j < len(t.args) && !utf8.RuneStart(t.args[j]) {
		j++
	}
	return t.args[i:j]
}

// chooseTool reads OpenAI chat tools and tool_choice. It returns an error message when
// tool_choice names a function that is not offered.
func (c *call) chooseTool(tools, choice gjson.Result) string {
	var want string
	switch {
	case choice.Type == gjson.String && choice.Str == "required":
	case choice.IsObject():
		want = choice.Get("function.name").Str
		if want == "" {
			return "tool_choice must name a function."
		}
	default:
		return ""
	}
	var picked gjson.Result
	tools.ForEach(func(_, t gjson.Result) bool {
		fn := t.Get("function")
		if want == "" || fn.Get("name").Str == want {
			picked = fn
			return false
		}
		return true
	})
	return c.pickTool(picked, "parameters", want)
}

// chooseResponsesTool reads Responses API tools (function tools are flat:
// {"type":"function","name":...,"parameters":...}) and tool_choice ("required", or
// {"type":"function","name":...}). Tools of other types are never called.
func (c *call) chooseResponsesTool(tools, choice gjson.Result) string {
	var want string
	switch {
	case choice.Type == gjson.String && choice.Str == "required":
	case choice.IsObject() && choice.Get("type").Str == "function":
		want = choice.Get("name").Str
		if want == "" {
			return "Missing required parameter: 'tool_choice.name'."
		}
	default:
		return ""
	}
	var picked gjson.Result
	tools.ForEach(func(_, t gjson.Result) bool {
		if t.Get("type").Str == "function" && (want == "" || t.Get("name").Str == want) {
			picked = t
			return false
		}
		return true
	})
	return c.pickTool(picked, "parameters", want)
}

// pickTool makes the call to tool (a JSON object with a name and, under schemaKey, the
// JSON schema of its arguments). want is the name tool_choice asked for, "" for any.
func (c *call) pickTool(tool gjson.Result, schemaKey, want string) string {
	if !tool.Exists() {
		if want == "" {
			return "tool_choice is \"required\" but no tools were given."
		}
		return "Tool choice '" + want + "' not found in 'tools' list."
	}
	c.callTool(tool.Get("name").Str, tool.Get(schemaKey))
	return ""
}

// callTool makes the reply a call to the tool name with arguments that satisfy schema.
func (c *call) callTool(name string, schema gjson.Result) {
	g := argGen{root: schema, r: rng{s: c.seed}}
	c.tool = &toolCall{name: []byte(name), args: g.appendValue(nil, schema, 0)}
}

// chooseAnthropicTool reads Anthropic tools and tool_choice.
func (c *call) chooseAnthropicTool(tools, choice gjson.Result) string {
	var want string
	switch choice.Get("type").Str {
	case "any":
	case "tool":
		want = choice.Get("name").Str
		if want == "" {
			return "tool_choice.name: Field required"
		}
	default:
		return ""
	}
	var picked gjson.Result
	tools.ForEach(func(_, t gjson.Result) bool {
		if want == "" || t.Get("name").Str == want {
			picked = t
			return false
		}
		return true
	})
	if !picked.Exists() {
		if want == "" {
			return "tool_choice: tools must be given when tool_choice is any."
		}
		return "tool_choice: tool '" + want + "' not found in tools."
	}
	c.callTool(picked.Get("name").Str, picked.Get("input_schema"))
	return ""
}

// chooseGeminiTool reads Gemini tools (functionDeclarations, whose schema is
// parametersJsonSchema or the OpenAPI-style parameters) and toolConfig. Mode ANY calls
// the first declared function, or the first that allowedFunctionNames allows; other
// modes get a text reply.
func (c *call) chooseGeminiTool(tools, toolConfig gjson.Result) string {
	fcc := field(toolConfig, "functionCallingConfig", "function_calling_config")
	if !strings.EqualFold(fcc.Get("mode").Str, "ANY") {
		return ""
	}
	allowed := field(fcc, "allowedFunctionNames", "allowed_function_names")
	var picked gjson.Result
	tools.ForEach(func(_, t gjson.Result) bool {
		field(t, "functionDeclarations", "function_declarations").ForEach(func(_, fn gjson.Result) bool {
			if !allowed.IsArray() || listHas(allowed, fn.Get("name").Str) {
				picked = fn
			}
			return !picked.Exists()
		})
		return !picked.Exists()
	})
	switch {
	case picked.Exists():
	case allowed.IsArray():
		return "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: no function declaration in tools has one of the names " +
			string(appendCompact(nil, allowed.Raw)) + "."
	default:
		return "* GenerateContentRequest.tool_config.function_calling_config.mode: ANY needs function declarations in tools."
	}
	schema := field(picked, "parametersJsonSchema", "parameters_json_schema")
	if !schema.Exists() {
		schema = picked.Get("parameters")
	}
	c.callTool(picked.Get("name").Str, schema)
	return ""
}

// chooseBedrockTool reads Bedrock's toolConfig: tools of {"toolSpec":{name,
// inputSchema:{json}}} (others, such as cachePoint, are skipped) and toolChoice.
func (c *call) chooseBedrockTool(toolConfig gjson.Result) string {
	choice := toolConfig.Get("toolChoice")
	var want string
	switch {
	case choice.Get("any").Exists():
	case choice.Get("tool").Exists():
		want = choice.Get("tool.name").Str
		if want == "" {
			return "1 validation error detected: Value null at 'toolConfig.toolChoice.tool.name' failed to satisfy constraint: Member must not be null"
		}
	default:
		return ""
	}
	var picked gjson.Result
	toolConfig.Get("tools").ForEach(func(_, t gjson.Result) bool {
		spec := t.Get("toolSpec")
		if spec.Exists() && (want == "" || spec.Get("name").Str == want) {
			picked = spec
		}
		return !picked.Exists()
	})
	if !picked.Exists() {
		if want == "" {
			return "The model returned the following errors: toolChoice any needs at least one toolSpec in toolConfig.tools."
		}
		return "The model returned the following errors: toolChoice names tool '" + want + "', which toolConfig.tools does not define."
	}
	c.callTool(picked.Get("name").Str, picked.Get("inputSchema.json"))
	return ""
}

// field returns v's member camel, or its proto-style spelling snake: Google's JSON
// accepts both.
func field(v gjson.Result, camel, snake string) gjson.Result {
	if r := v.Get(camel); r.Exists() {
		return r
	}
	return v.Get(snake)
}

// appendOpenAI appends the call as an element of an OpenAI tool_calls array.
func (t *toolCall) appendOpenAI(b []byte, c *call, s *Server) []byte {
	b = appendID(append(b, `{"id":"`...), "call_", c.serial^s.seed^1)
	b = append(b, `","type":"function","function":{"name":`...)
	b = appendQuoted(b, t.name)
	b = append(b, `,"arguments":`...)
	b = appendQuoted(b, t.args)
	return append(b, `}}`...)
}
