package config

import "testing"

func TestModelPattern(t *testing.T) {
	for _, tt := range []struct {
		name, prefix string
		pattern      bool
		problem      bool
	}{
		{"claude-*", "claude-", true, false},
		{"*", "", true, false},
		{"gpt-4o-mini", "", false, false},
		{"gpt-*-mini", "", false, true},
		{"claude-**", "claude-*", true, true},
		{"*x", "", false, true},
	} {
		prefix, ok := ModelPattern(tt.name)
		if prefix != tt.prefix || ok != tt.pattern {
			t.Errorf("ModelPattern(%q) = %q, %v; want %q, %v", tt.name, prefix, ok, tt.prefix, tt.pattern)
		}
		if got := PatternProblem(tt.name) != ""; got != tt.problem {
			t.Errorf("PatternProblem(%q) = %q", tt.name, PatternProblem(tt.name))
		}
	}
}

// TestPatternTargetModel: a pattern's target without a model keeps it
// empty (the gateway forwards the requested name); an exact model's target
// still defaults to the public name.
func TestPatternTargetModel(t *testing.T) {
	c, err := Parse("t.yaml", []byte(minimal+"  - name: claude-*\n    targets: [{provider: openai}, {provider: openai, model: fixed, name: f}]\n"), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Models[0].Targets[0].Model; got != "gpt-4o-mini" {
		t.Errorf("exact model's target model %q, want the public name", got)
	}
	if got := c.Models[1].Targets[0].Model; got != "" {
		t.Errorf("pattern's target model %q, want empty (forward the requested name)", got)
	}
	if got := c.Models[1].Targets[1].Model; got != "fixed" {
		t.Errorf("pattern's explicit target model %q, want fixed", got)
	}
	if got := c.Models[1].Targets[0].Name; got != "openai/claude-*" {
		t.Errorf("pattern's target name %q, want openai/claude-* (bounded: never a requested name)", got)
	}
}
