package auth

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeKeyInput(t *testing.T) {
	in, err := DecodeKeyInput([]byte(`{"name":"ci","models":["gpt-4o-mini","gpt-4o-mini","gpt-4o"],"rpm":60,"tpm":1000,
		"max_concurrent":2,"budget_usd":10.5,"expires_at":"2030-01-02T03:04:05.1234567+02:00","disabled":true,"team":"core",
		"tags":{"env":"prod","drop":null},"model_limits":{"gpt-4o":{"rpm":5}},"allow_routing_headers":true,"guardrails":["strict"],"priority":"high"}`))
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2030, 1, 2, 1, 4, 5, 123456000, time.UTC)
	want := KeyInput{
		Name: "ci", Models: []string{"gpt-4o-mini", "gpt-4o"}, RPM: 60, TPM: 1000, MaxConcurrent: 2, BudgetUSD: 10.5,
		BudgetPeriod: "total", ExpiresAt: &exp, Disabled: true, Team: "core", Tags: map[string]string{"env": "prod"},
		ModelLimits: map[string]ModelLimit{"gpt-4o": {RPM: 5}}, AllowRoutingHeaders: true, Guardrails: []string{"strict"},
		Priority: PriorityHigh,
	}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("DecodeKeyInput =\n%+v\nwant\n%+v", in, want)
	}
	empty, err := DecodeKeyInput([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if empty.Models == nil || empty.Tags == nil || empty.ModelLimits == nil || empty.Guardrails == nil || empty.ExpiresAt != nil ||
		empty.Priority != PriorityNormal {
		t.Errorf("empty input not normalized: %+v", empty)
	}
}

func TestKeyInputErrors(t *testing.T) {
	tests := []struct {
		body  string
		field string
		msg   string
	}{
		{`[]`, "", "the body must be a JSON object"},
		{`null`, "", "the body must be a JSON object"},
		{`{"name":`, "", "the body must be a JSON object"},
		{`{} {}`, "", "the body must be a JSON object"},
		{`{"rmp":1}`, "rmp", "unknown field"},
		{`{"zz":1,"rmp":1,"name":"x"}`, "rmp, zz", "unknown fields"},
		{`{"id":"x"}`, "id", "is read-only"},
		{`{"key":"sk-x"}`, "key", "is read-only: rotate the key for a new secret"},
		{`{"revoked":true}`, "revoked", "is read-only: DELETE the key to revoke it"},
		{`{"spend_usd":1,"bogus":1}`, "bogus", "unknown field"},
		{`{"rpm":"10"}`, "rpm", "must be a whole number"},
		{`{"rpm":1.5}`, "rpm", "must be a whole number"},
		{`{"rpm":-1}`, "rpm", "must not be negative (0 means the default)"},
		{`{"tpm":99999999999999999999}`, "tpm", "must be a whole number"},
		{`{"max_concurrent":-3}`, "max_concurrent", "must not be negative (0 means the default)"},
		{`{"budget_usd":-0.5}`, "budget_usd", "must not be negative (0 means no budget)"},
		{`{"budget_usd":"5"}`, "budget_usd", "must be a number"},
		{`{"budget_period":"week"}`, "budget_period", `must be "day", "month" or "total"`},
		{`{"expires_at":"tomorrow"}`, "expires_at", `must be an RFC 3339 time such as "2026-12-31T23:59:59Z", or null`},
		{`{"expires_at":1893456000}`, "expires_at", `must be an RFC 3339 time such as "2026-12-31T23:59:59Z", or null`},
		{`{"disabled":"yes"}`, "disabled", "must be true or false"},
		{`{"models":"gpt-4o"}`, "models", "must be a list of model names"},
		{`{"models":["gpt 4o"]}`, "models[0]", "must be a model name: visible ASCII without spaces, at most 256 bytes"},
		{`{"models":[""]}`, "models[0]", "must be a model name: visible ASCII without spaces, at most 256 bytes"},
		{`{"models":["claude-*","gpt-*-mini"]}`, "models[1]", `'*' may appear only once, as the last character (a pattern such as "claude-*")`},
		{`{"tags":{"a":1}}`, "tags", "must be an object of strings"},
		{`{"tags":{"":"x"}}`, "tags", "tag names must be 1 to 256 bytes"},
		{`{"model_limits":{"m":{"rps":1}}}`, "model_limits.m.rps", "unknown field"},
		{`{"model_limits":{"m":{"rpm":-1}}}`, "model_limits.m.rpm", "must not be negative"},
		{`{"model_limits":{"m":{"tpm":"x"}}}`, "model_limits.m.tpm", "must be a whole number"},
		{`{"model_limits":{"m":5}}`, "model_limits.m", `must be an object such as {"rpm": 60, "tpm": 100000}`},
		{`{"model_limits":[1]}`, "model_limits", `must be an object of model names to {"rpm", "tpm"}`},
		{`{"priority":"urgent"}`, "priority", `must be "normal" or "high"`},
		{`{"priority":"High"}`, "priority", `must be "normal" or "high"`},
		{`{"priority":""}`, "priority", `must be "normal" or "high"`},
		{`{"priority":1}`, "priority", `must be "normal" or "high"`},
		{`{"priority":true}`, "priority", `must be "normal" or "high"`},
		{`{"guardrails":["a b"]}`, "guardrails[0]", `must be a guardrail set name: letters, digits, ".", "_" and "-"`},
		{`{"name":"` + strings.Repeat("n", 257) + `"}`, "name", "must be at most 256 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.body[:min(len(tt.body), 40)], func(t *testing.T) {
			_, err := DecodeKeyInput([]byte(tt.body))
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error = %v, want a *FieldError", err)
			}
			if fe.Field != tt.field || fe.Msg != tt.msg {
				t.Errorf("FieldError{%q, %q}, want {%q, %q}", fe.Field, fe.Msg, tt.field, tt.msg)
			}
		})
	}
}

// TestMergePatch checks RFC 7386 semantics on a key: null deletes, objects
// merge recursively (tags, model_limits), everything else replaces.
func TestMergePatch(t *testing.T) {
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	base := KeyInput{
		Name: "base", Models: []string{"a", "b"}, RPM: 10, TPM: 100, BudgetUSD: 5, BudgetPeriod: "day",
		ExpiresAt: &exp, Team: "core", Tags: map[string]string{"env": "prod", "owner": "ann"},
		ModelLimits: map[string]ModelLimit{"a": {RPM: 1, TPM: 2}, "b": {RPM: 3}}, Guardrails: []string{"g"},
	}
	normalize(&base)
	tests := []struct {
		name  string
		patch string
		edit  func(*KeyInput)
	}{
		{"empty patch", `{}`, func(*KeyInput) {}},
		{"scalar replace", `{"rpm":20,"name":"new","disabled":true}`, func(k *KeyInput) { k.RPM, k.Name, k.Disabled = 20, "new", true }},
		{"null resets scalars", `{"rpm":null,"name":null,"budget_usd":null}`, func(k *KeyInput) { k.RPM, k.Name, k.BudgetUSD = 0, "", 0 }},
		{"null removes expiry", `{"expires_at":null}`, func(k *KeyInput) { k.ExpiresAt = nil }},
		{"list replaces", `{"models":["c"]}`, func(k *KeyInput) { k.Models = []string{"c"} }},
		{"null list is all models", `{"models":null}`, func(k *KeyInput) { k.Models = []string{} }},
		{"empty list is all models", `{"models":[]}`, func(k *KeyInput) { k.Models = []string{} }},
		{"tags merge", `{"tags":{"owner":"bob","new":"x"}}`, func(k *KeyInput) { k.Tags = map[string]string{"env": "prod", "owner": "bob", "new": "x"} }},
		{"tag deleted by null", `{"tags":{"owner":null}}`, func(k *KeyInput) { k.Tags = map[string]string{"env": "prod"} }},
		{"all tags deleted", `{"tags":null}`, func(k *KeyInput) { k.Tags = map[string]string{} }},
		{"model limit merges", `{"model_limits":{"a":{"tpm":9}}}`, func(k *KeyInput) { k.ModelLimits["a"] = ModelLimit{RPM: 1, TPM: 9} }},
		{"model limit added", `{"model_limits":{"c":{"rpm":7}}}`, func(k *KeyInput) { k.ModelLimits["c"] = ModelLimit{RPM: 7} }},
		{"model limit deleted", `{"model_limits":{"b":null}}`, func(k *KeyInput) { delete(k.ModelLimits, "b") }},
		{"model limit field reset", `{"model_limits":{"a":{"rpm":null}}}`, func(k *KeyInput) { k.ModelLimits["a"] = ModelLimit{TPM: 2} }},
		{"budget without period gets total", `{"budget_period":null}`, func(k *KeyInput) { k.BudgetPeriod = "total" }},
		{"priority high", `{"priority":"high"}`, func(k *KeyInput) { k.Priority = PriorityHigh }},
		{"priority normal", `{"priority":"normal"}`, func(k *KeyInput) { k.Priority = PriorityNormal }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := clone(base)
			got, err := applyPatch(cur, []byte(tt.patch))
			if err != nil {
				t.Fatal(err)
			}
			want := clone(base)
			tt.edit(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("patched =\n%+v\nwant\n%+v", got, want)
			}
			if !reflect.DeepEqual(cur, base) {
				t.Errorf("applyPatch modified its input")
			}
		})
	}
}

// TestPriorityPatch checks that a high key stays high through patches
// that leave priority out, and that null and "normal" take it back to
// normal.
func TestPriorityPatch(t *testing.T) {
	high, err := DecodeKeyInput([]byte(`{"name":"a","priority":"high"}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		patch string
		want  string
	}{
		{`{}`, PriorityHigh},
		{`{"rpm":5}`, PriorityHigh},
		{`{"priority":null}`, PriorityNormal},
		{`{"priority":"normal"}`, PriorityNormal},
		{`{"priority":"high"}`, PriorityHigh},
	}
	for _, tt := range tests {
		t.Run(tt.patch, func(t *testing.T) {
			got, err := applyPatch(clone(high), []byte(tt.patch))
			if err != nil {
				t.Fatal(err)
			}
			if got.Priority != tt.want {
				t.Errorf("priority after %s = %q, want %q", tt.patch, got.Priority, tt.want)
			}
		})
	}
	if _, err := applyPatch(clone(high), []byte(`{"priority":"low"}`)); err == nil || err.Error() != `priority: must be "normal" or "high"` {
		t.Errorf("bad priority in a patch: %v", err)
	}
}

func clone(in KeyInput) KeyInput {
	b, _ := json.Marshal(in)
	var out KeyInput
	_ = json.Unmarshal(b, &out)
	normalize(&out)
	return out
}

func TestChanges(t *testing.T) {
	a := KeyInput{RPM: 1, Tags: map[string]string{"x": "1"}}
	b := KeyInput{RPM: 2, Tags: map[string]string{"x": "1"}, Team: "t"}
	normalize(&a)
	normalize(&b)
	ch, err := changes(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 2 || string(ch["rpm"]) != "2" || string(ch["team"]) != `"t"` {
		t.Errorf("changes = %s", mustJSON(ch))
	}
	b.Priority = PriorityHigh
	if ch, err = changes(a, b); err != nil || string(ch["priority"]) != `"high"` {
		t.Errorf("changes to high priority = %s, %v", mustJSON(ch), err)
	}
}
