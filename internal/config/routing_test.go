package config

import (
	"strings"
	"testing"
)

const routingBase = `providers:
  - {name: oa, kind: openai, base_url: "http://127.0.0.1:1/v1"}
  - {name: an, kind: anthropic, base_url: "http://127.0.0.1:1/v1"}
models:
  - name: main
    targets: [{provider: oa}, {provider: oa, weight: 2}]
`

func TestRoutingValidation(t *testing.T) {
	tests := []struct {
		name  string
		extra string // appended model fields (indented 4) or top-level sections
		want  string // substring of the problems, "" = valid
	}{
		{name: "defaults", extra: "", want: ""},
		{name: "strategy", extra: "    strategy: fastest\n", want: `models[0].strategy: unknown strategy "fastest"`},
		{name: "fallback unknown", extra: "    fallbacks: [nope]\n", want: `models[0].fallbacks[0]: unknown model "nope"`},
		{name: "fallback self", extra: "    fallbacks: [main]\n", want: `cannot fall back to itself`},
		{name: "fallback cross format", extra: "    fallbacks: [claude]\n  - {name: claude, targets: [{provider: an}]}\n", want: ""},
		{name: "fallback ok", extra: "    fallbacks: [backup]\n  - {name: backup, targets: [{provider: oa}]}\n", want: ""},
		{name: "trigger", extra: "    retry: {on: [connect, 404, teapot]}\n", want: `models[0].retry.on[2]: unknown retry trigger "teapot"`},
		{name: "attempts", extra: "    retry: {attempts: 11}\n", want: `models[0].retry.attempts: must be between 0 and 10`},
		{name: "ratio", extra: "routing: {retry_budget: {ratio: 2}}\n", want: `routing.retry_budget.ratio: must be between 0 and 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("r.yaml", []byte(routingBase+tt.extra), nil)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected problems: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("problems %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRoutingDefaults(t *testing.T) {
	c, err := Parse("r.yaml", []byte(routingBase+"    retry: {attempts: 0}\n  - {name: other, targets: [{provider: oa, name: custom}]}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Models[0]
	if m.Targets[0].Name != "oa/main" || m.Targets[1].Name != "oa/main#2" {
		t.Errorf("target names %q %q", m.Targets[0].Name, m.Targets[1].Name)
	}
	if *m.Retry.Attempts != 0 || len(m.Retry.On) != 4 || m.Retry.MaxRetryAfter.D() != DefaultMaxRetryAfter {
		t.Errorf("model retry %+v", m.Retry)
	}
	o := c.Models[1]
	if *o.Retry.Attempts != DefaultRetryAttempts || o.Targets[0].Name != "custom" {
		t.Errorf("second model: attempts %d name %q", *o.Retry.Attempts, o.Targets[0].Name)
	}
	if c.Routing.Breaker.Failures != 5 || c.Routing.Breaker.Cooldown.D().Seconds() != 10 || c.Routing.RetryBudget.MinConcurrent != 3 {
		t.Errorf("routing defaults %+v", c.Routing)
	}
}
