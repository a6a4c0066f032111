package mock

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// checkSchema reports how v (decoded by encoding/json) fails schema, nil when it
// satisfies it. It knows the keywords argGen claims to satisfy, enough to check it
// independently: a test oracle, not a general validator.
func checkSchema(root, schema any, v any) error {
	s, ok := schema.(map[string]any)
	if !ok {
		return nil // true, or no schema
	}
	for range 8 {
		ref, ok := s["$ref"].(string)
		if !ok {
			break
		}
		var target any = root
		for _, seg := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, _ := target.(map[string]any)
			target = m[seg]
		}
		if s, ok = target.(map[string]any); !ok {
			return fmt.Errorf("unresolved $ref %s", ref)
		}
	}
	if c, ok := s["const"]; ok && !jsonEqual(c, v) {
		return fmt.Errorf("%v is not const %v", v, c)
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || jsonEqual(e, v)
		}
		if !found {
			return fmt.Errorf("%v not in enum %v", v, enum)
		}
	}
	if t, ok := s["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		matched := false
		for _, name := range types {
			matched = matched || hasType(strings.ToLower(name), v)
		}
		if !matched {
			return fmt.Errorf("%#v is not of type %v", v, t)
		}
	}
	if alts, ok := s["anyOf"].([]any); ok {
		var errs []string
		for _, alt := range alts {
			if err := checkSchema(root, alt, v); err != nil {
				errs = append(errs, err.Error())
			}
		}
		if len(errs) == len(alts) {
			return fmt.Errorf("anyOf: %s", strings.Join(errs, "; "))
		}
	}
	if alts, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, alt := range alts {
			if checkSchema(root, alt, v) == nil {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("oneOf: %v matches %d alternatives", v, n)
		}
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			if err := checkSchema(root, sub, v); err != nil {
				return fmt.Errorf("allOf: %w", err)
			}
		}
	}
	switch v := v.(type) {
	case string:
		n := float64(utf8.RuneCountInString(v))
		if m, ok := s["minLength"].(float64); ok && n < m {
			return fmt.Errorf("%q shorter than %v", v, m)
		}
		if m, ok := s["maxLength"].(float64); ok && n > m {
			return fmt.Errorf("%q longer than %v", v, m)
		}
		if err := checkFormat(s["format"], v); err != nil {
			return err
		}
	case float64:
		if m, ok := s["minimum"].(float64); ok && v < m {
			return fmt.Errorf("%v < minimum %v", v, m)
		}
		if m, ok := s["maximum"].(float64); ok && v > m {
			return fmt.Errorf("%v > maximum %v", v, m)
		}
		if m, ok := s["exclusiveMinimum"].(float64); ok && v <= m {
			return fmt.Errorf("%v <= exclusiveMinimum %v", v, m)
		}
		if m, ok := s["exclusiveMaximum"].(float64); ok && v >= m {
			return fmt.Errorf("%v >= exclusiveMaximum %v", v, m)
		}
		if s["exclusiveMinimum"] == true && v == s["minimum"] || s["exclusiveMaximum"] == true && v == s["maximum"] {
			return fmt.Errorf("%v at an exclusive bound", v)
		}
		if m, ok := s["multipleOf"].(float64); ok && math.Abs(v/m-math.Round(v/m)) > 1e-9 {
			return fmt.Errorf("%v not a multiple of %v", v, m)
		}
	case []any:
		if m, ok := s["minItems"].(float64); ok && float64(len(v)) < m {
			return fmt.Errorf("%d items, fewer than %v", len(v), m)
		}
		if m, ok := s["maxItems"].(float64); ok && float64(len(v)) > m {
			return fmt.Errorf("%d items, more than %v", len(v), m)
		}
		prefix, _ := s["prefixItems"].([]any)
		for i, item := range v {
			sub := s["items"]
			if i < len(prefix) {
				sub = prefix[i]
			}
			if err := checkSchema(root, sub, item); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, name := range req {
				if _, ok := v[name.(string)]; !ok {
					return fmt.Errorf("required %q missing", name)
				}
			}
		}
		for k, val := range v {
			sub, declared := props[k]
			if !declared {
				sub = s["additionalProperties"]
				if sub == false {
					return fmt.Errorf("property %q not allowed", k)
				}
			}
			if err := checkSchema(root, sub, val); err != nil {
				return fmt.Errorf(".%s: %w", k, err)
			}
		}
	}
	return nil
}

func hasType(name string, v any) bool {
	switch name {
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func checkFormat(format any, v string) error {
	var err error
	switch format {
	case "date-time":
		_, err = time.Parse(time.RFC3339, v)
	case "date":
		_, err = time.Parse(time.DateOnly, v)
	case "email":
		if !strings.Contains(v, "@") {
			err = fmt.Errorf("not an email")
		}
	case "uuid":
		if !uuidRE.MatchString(v) {
			err = fmt.Errorf("not a uuid")
		}
	}
	if err != nil {
		return fmt.Errorf("%q is not a %v: %w", v, format, err)
	}
	return nil
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// checkArgs decodes args and checks them against the JSON schema text schema.
func checkArgs(t *testing.T, schema, args string) {
	t.Helper()
	var s, v any
	if err := json.Unmarshal([]byte(schema), &s); err != nil {
		t.Fatalf("schema: %v", err)
	}
	if err := json.Unmarshal([]byte(args), &v); err != nil {
		t.Fatalf("arguments %s are not JSON: %v", args, err)
	}
	if err := checkSchema(s, s, v); err != nil {
		t.Errorf("arguments %s do not satisfy %s: %v", args, schema, err)
	}
}

// toolSchemas are parameter schemas of the kinds tools send, each with the name of a
// property that must be a string.
var toolSchemas = []struct {
	name, schema string
}{
	{"weather", `{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":14},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}`},
	{"pydantic", `{"type":"object","$defs":{"Addr":{"type":"object","properties":{"zip":{"type":"string","minLength":5,"maxLength":5},"street":{"type":"string","maxLength":3}},"required":["zip"],"additionalProperties":false}},` +
		`"properties":{"addr":{"$ref":"#/$defs/Addr"},"note":{"anyOf":[{"type":"null"},{"type":"string","format":"date-time"}]},"tags":{"type":"array","items":{"type":"string"},"minItems":2,"maxItems":3},` +
		`"score":{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1},"count":{"type":"integer","multipleOf":5,"minimum":43},"kind":{"const":"x"},"when":{"type":["string","null"],"format":"date"},` +
		`"id":{"type":"string","format":"uuid"},"pick":{"oneOf":[{"type":"integer","maximum":3},{"type":"string"}]},"pair":{"type":"array","prefixItems":[{"type":"string"},{"type":"boolean"}]}},` +
		`"required":["addr","tags","score","count","kind","when","id","pick","pair"],"additionalProperties":false}`},
	{"openapi_upper", `{"type":"OBJECT","properties":{"q":{"type":"STRING"},"n":{"type":"INTEGER"},"flags":{"type":"ARRAY","items":{"type":"BOOLEAN"}}},"required":["q","n"]}`},
	{"recursive", `{"$defs":{"Node":{"type":"object","properties":{"name":{"type":"string"},"children":{"type":"array","items":{"$ref":"#/$defs/Node"}}},"required":["name"]}},"$ref":"#/$defs/Node"}`},
	{"undeclared_required", `{"type":"object","properties":{"a":{"type":"number","minimum":42,"exclusiveMinimum":true}},"required":["a","b"]}`},
	{"empty", `{"type":"object","properties":{}}`},
}

// TestToolArgsSatisfySchema checks argGen directly against the oracle, over several
// seeds (the seed draws the strings).
func TestToolArgsSatisfySchema(t *testing.T) {
	for _, tc := range toolSchemas {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(20) {
				g := argGen{root: gjson.Parse(tc.schema), r: rng{s: seed}}
				args := g.appendValue(nil, g.root, 0)
				checkArgs(t, tc.schema, string(args))
			}
		})
	}
	// The values chosen, pinned where the schema leaves a choice.
	for _, tc := range []struct{ schema, want string }{
		{`{"type":"integer"}`, `42`},
		{`{"type":"integer","maximum":10}`, `10`},
		{`{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1}`, `0.5`},
		{`{"type":"string","format":"date"}`, `"2025-01-02"`},
		{`{"type":"array"}`, `[]`},
		{`{"type":"array","items":{"type":"boolean"}}`, `[true]`},
		{`{"type":["null","boolean"]}`, `true`},
		{`{"anyOf":[{"type":"null"},{"type":"integer"}]}`, `42`},
		{`{"$ref":"#/definitions/missing"}`, `{}`},
		{`{"type":"object","required":["x"]}`, `{"x":null}`},
	} {
		g := argGen{root: gjson.Parse(tc.schema)}
		if got := string(g.appendValue(nil, g.root, 0)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.schema, got, tc.want)
		}
	}
}

// FuzzToolArgs: whatever the schema, the arguments are valid JSON and building them
// ends.
func FuzzToolArgs(f *testing.F) {
	for _, tc := range toolSchemas {
		f.Add(tc.schema)
	}
	f.Add(`{"$ref":"#"}`)
	f.Add(`{"anyOf":[{"$ref":"#"}]}`)
	f.Add(`{"type":"array","minItems":100000,"items":{"type":"string","minLength":100000000}}`)
	f.Fuzz(func(t *testing.T, schema string) {
		if !gjson.Valid(schema) {
			return
		}
		g := argGen{root: gjson.Parse(schema)}
		args := g.appendValue(nil, g.root, 0)
		if !json.Valid(args) {
			t.Fatalf("schema %s gave invalid JSON %s", schema, args)
		}
	})
}

// testSigV4 is a well-formed SigV4 Authorization header for Bedrock routes.
const testSigV4 = "AWS4-HMAC-SHA256 Credential=AKIDMOCKEXAMPLE/20250102/us-east-1/bedrock/aws4_request, " +
	"SignedHeaders=content-type;host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// forcedFormats are the ways each format offers two tools ("other" first, then "t"
// with the schema under test) and forces a call: to the tool named "t" (named), to
// any tool (anyChoice), or not at all (auto). args is the gjson path of the
// arguments in the reply; argsIsString says they are a JSON string to decode.
var forcedFormats = []struct {
	name, path               string
	headers                  map[string]string
	body                     func(schema, choice string) string
	named, anyChoice, auto   string
	unknown                  string // a named choice of a tool that is not offered
	args, toolName           string
	argsIsString             bool
	errorContains, textReply string
}{
	{
		name: "openai_chat", path: "/v1/chat/completions",
		body: func(schema, choice string) string {
			return `{"model":"m","tool_choice":` + choice + `,"tools":[{"type":"function","function":{"name":"other","parameters":{"type":"object"}}},` +
				`{"type":"function","function":{"name":"t","parameters":` + schema + `}}],"messages":[{"role":"user","content":"go"}]}`
		},
		named: `{"type":"function","function":{"name":"t"}}`, anyChoice: `"required"`, auto: `"auto"`,
		unknown: `{"type":"function","function":{"name":"nope"}}`,
		args:    "choices.0.message.tool_calls.0.function.arguments", toolName: "choices.0.message.tool_calls.0.function.name", argsIsString: true,
		errorContains: `"param":"tool_choice"`, textReply: "choices.0.message.content",
	},
	{
		name: "openai_responses", path: "/v1/responses",
		body: func(schema, choice string) string {
			return `{"model":"m","input":"go","tool_choice":` + choice + `,"tools":[{"type":"function","name":"other","parameters":{"type":"object"}},` +
				`{"type":"function","name":"t","parameters":` + schema + `}]}`
		},
		named: `{"type":"function","name":"t"}`, anyChoice: `"required"`, auto: `"auto"`,
		unknown: `{"type":"function","name":"nope"}`,
		args:    "output.0.arguments", toolName: "output.0.name", argsIsString: true,
		errorContains: `"param":"tool_choice"`, textReply: "output.0.content.0.text",
	},
	{
		name: "anthropic", path: "/v1/messages",
		body: func(schema, choice string) string {
			return `{"model":"m","max_tokens":100,"tool_choice":` + choice + `,"tools":[{"name":"other","input_schema":{"type":"object"}},` +
				`{"name":"t","input_schema":` + schema + `}],"messages":[{"role":"user","content":"go"}]}`
		},
		named: `{"type":"tool","name":"t"}`, anyChoice: `{"type":"any"}`, auto: `{"type":"auto"}`,
		unknown: `{"type":"tool","name":"nope"}`,
		args:    "content.0.input", toolName: "content.0.name",
		errorContains: `"invalid_request_error"`, textReply: "content.0.text",
	},
	{
		name: "gemini", path: "/v1beta/models/gemini-2.0-flash:generateContent",
		body: func(schema, choice string) string {
			return `{"contents":[{"role":"user","parts":[{"text":"go"}]}],"tools":[{"googleSearch":{}},{"functionDeclarations":[{"name":"other","parameters":{"type":"OBJECT"}},` +
				`{"name":"t","parametersJsonSchema":` + schema + `}]}],"toolConfig":{"functionCallingConfig":` + choice + `}}`
		},
		named: `{"mode":"ANY","allowedFunctionNames":["t"]}`, anyChoice: `{"mode":"ANY"}`, auto: `{"mode":"AUTO"}`,
		unknown: `{"mode":"ANY","allowedFunctionNames":["nope"]}`,
		args:    "candidates.0.content.parts.0.functionCall.args", toolName: "candidates.0.content.parts.0.functionCall.name",
		errorContains: `"INVALID_ARGUMENT"`, textReply: "candidates.0.content.parts.0.text",
	},
	{
		name: "bedrock", path: "/model/anthropic.claude-3-5-haiku-20241022-v1:0/converse",
		headers: map[string]string{"Authorization": testSigV4},
		body: func(schema, choice string) string {
			return `{"messages":[{"role":"user","content":[{"text":"go"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"other","inputSchema":{"json":{"type":"object"}}}},` +
				`{"cachePoint":{"type":"default"}},{"toolSpec":{"name":"t","inputSchema":{"json":` + schema + `}}}],"toolChoice":` + choice + `}}`
		},
		named: `{"tool":{"name":"t"}}`, anyChoice: `{"any":{}}`, auto: `{"auto":{}}`,
		unknown: `{"tool":{"name":"nope"}}`,
		args:    "output.message.content.0.toolUse.input", toolName: "output.message.content.0.toolUse.name",
		errorContains: `"message"`, textReply: "output.message.content.0.text",
	},
}

// TestForcedToolCall: every format answers a forced choice with one call whose
// arguments satisfy the tool's schema, "any" with a call to the first tool, auto with
// text, and a named tool it was not offered with a 400 in its own shape.
func TestForcedToolCall(t *testing.T) {
	_, base := startMock(t, Options{Seed: 11}, nil)
	for _, f := range forcedFormats {
		t.Run(f.name, func(t *testing.T) {
			for _, tc := range toolSchemas {
				resp, body := do(t, "POST", base+f.path, f.headers, f.body(tc.schema, f.named))
				reply := gjson.Parse(body)
				if resp.StatusCode != 200 || reply.Get(f.toolName).Str != "t" {
					t.Fatalf("%s: %d %s", tc.name, resp.StatusCode, body)
				}
				args := reply.Get(f.args).Raw
				if f.argsIsString {
					args = reply.Get(f.args).Str
				}
				checkArgs(t, tc.schema, args)
			}
			schema := toolSchemas[0].schema
			_, body := do(t, "POST", base+f.path, f.headers, f.body(schema, f.anyChoice))
			if got := gjson.Get(body, f.toolName).Str; got != "other" {
				t.Errorf("any: called %q, want the first tool: %s", got, body)
			}
			_, body = do(t, "POST", base+f.path, f.headers, f.body(schema, f.auto))
			if gjson.Get(body, f.toolName).Exists() || gjson.Get(body, f.textReply).Str == "" {
				t.Errorf("auto: %s", body)
			}
			resp, body := do(t, "POST", base+f.path, f.headers, f.body(schema, f.unknown))
			if resp.StatusCode != 400 || !strings.Contains(body, f.errorContains) || !strings.Contains(body, "nope") {
				t.Errorf("unknown tool: %d %s", resp.StatusCode, body)
			}
		})
	}
}
