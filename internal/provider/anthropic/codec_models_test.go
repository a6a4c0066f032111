package anthropic

import (
	"testing"

	"github.com/sluice-gw/sluice/internal/provider/canon"
)

func TestCodecModelProfile(t *testing.T) {
	tests := []struct {
		model    string
		maxOut   int64
		think    codecThink
		sampling bool
	}{
		{"claude-3-haiku-20240307", 4096, codecThinkNone, true},
		{"claude-3-opus-latest", 4096, codecThinkNone, true},
		{"claude-3-5-sonnet-20241022", 8192, codecThinkNone, true},
		{"claude-3-5-haiku-latest", 8192, codecThinkNone, true},
		{"anthropic.claude-3-5-sonnet-20240620-v1:0", 8192, codecThinkNone, true},
		{"claude-3-5-sonnet-v2@20241022", 8192, codecThinkNone, true},
		{"claude-3-7-sonnet-20250219", 64000, codecThinkBudget, true},
		{"claude-sonnet-4-20250514", 64000, codecThinkBudget, true},
		{"claude-sonnet-4-0", 64000, codecThinkBudget, true},
		{"claude-opus-4-20250514", 32000, codecThinkBudget, true},
		{"claude-opus-4-1-20250805", 32000, codecThinkBudget, true},
		{"claude-opus-4-1@20250805", 32000, codecThinkBudget, true},
		{"claude-sonnet-4-5-20250929", 64000, codecThinkBudget, true},
		{"claude-haiku-4-5", 64000, codecThinkBudget, true},
		{"us.anthropic.claude-haiku-4-5-20251001-v1:0", 64000, codecThinkBudget, true},
		{"claude-opus-4-5-20251101", 64000, codecThinkBudget, true},
		{"claude-opus-4-6", 128000, codecThinkBoth, true},
		{"anthropic.claude-opus-4-6-v1", 128000, codecThinkBoth, true},
		{"claude-sonnet-4-6", 128000, codecThinkBoth, true},
		{"claude-opus-4-7", 128000, codecThinkAdaptive, false},
		{"claude-opus-4.8", 128000, codecThinkAdaptive, false},
		{"claude-sonnet-5", 128000, codecThinkAdaptive, false},
		{"claude-haiku-5-5", 128000, codecThinkAdaptive, false},
		{"claude-opus-5-5", 128000, codecThinkAdaptive, false},
		{"claude-fable-5-1", 128000, codecThinkAdaptive, false},
		{"claude-mythos-preview", 128000, codecThinkAdaptive, false},
		{"claude-2.1", 4096, codecThinkBudget, true},
		{"claude-instant-1.2", 4096, codecThinkBudget, true},
		{"claude-sonnet", 4096, codecThinkBudget, true},
		{"deepseek-chat", 4096, codecThinkBudget, true},
		{"", 4096, codecThinkBudget, true},
	}
	for _, tt := range tests {
		p := codecModelProfile(tt.model)
		if p.maxOut != tt.maxOut || p.think != tt.think || p.sampling != tt.sampling {
			t.Errorf("%q: max %d, think %d, sampling %v; want %d, %d, %v", tt.model, p.maxOut, p.think, p.sampling, tt.maxOut, tt.think, tt.sampling)
		}
	}
	if p := codecModelProfile("claude-opus-4-5"); !p.effort || p.max || p.xhigh {
		t.Errorf("opus 4.5 effort %+v", p)
	}
	if p := codecModelProfile("claude-sonnet-4-6"); !p.effort || !p.max || p.xhigh {
		t.Errorf("sonnet 4.6 effort %+v", p)
	}
}

func TestCodecEffortTables(t *testing.T) {
	// Each effort's budget maps back to the effort, but xhigh and max.
	for _, effort := range []string{"low", "medium", "high"} {
		b, ok := codecEffortBudget(effort)
		if !ok || codecBudgetEffort(b) != effort {
			t.Errorf("%s: budget %d maps back to %s", effort, b, codecBudgetEffort(b))
		}
	}
	if b, _ := codecEffortBudget("minimal"); b != codecMinBudget || codecBudgetEffort(b) != "low" {
		t.Errorf("minimal: %d", b)
	}
	for budget, want := range map[int64]string{1024: "low", 4095: "low", 4096: "medium", 12287: "medium", 12288: "high", 100000: "high"} {
		if got := codecBudgetEffort(budget); got != want {
			t.Errorf("budget %d: %s, want %s", budget, got, want)
		}
	}
	old, latest := codecModelProfile("claude-opus-4-5"), codecModelProfile("claude-opus-4-7")
	for effort, want := range map[string][2]string{
		"minimal": {"low", "low"}, "low": {"low", "low"}, "medium": {"medium", "medium"},
		"high": {"high", "high"}, "xhigh": {"high", "xhigh"}, "max": {"high", "max"},
	} {
		a, _ := codecEffort(&old, effort)
		b, _ := codecEffort(&latest, effort)
		if a != want[0] || b != want[1] {
			t.Errorf("%s: opus 4.5 %s, opus 4.7 %s; want %v", effort, a, b, want)
		}
	}
}

func TestCodecPlanThinking(t *testing.T) {
	call := []canon.Message{
		{Role: canon.RoleUser, Parts: []canon.Part{{Kind: canon.PartText, Text: "q"}}},
		{Role: canon.RoleAssistant, Parts: []canon.Part{{Kind: canon.PartThinking, Text: "gpt"}, {Kind: canon.PartToolCall, ID: "a", Name: "f"}}},
		{Role: canon.RoleUser, Parts: []canon.Part{{Kind: canon.PartToolResult, ID: "a"}}},
	}
	signed := []canon.Message{call[0], {Role: canon.RoleAssistant, Parts: []canon.Part{
		{Kind: canon.PartText}, {Kind: canon.PartThinking, Text: "t", Signature: "s"}, {Kind: canon.PartToolCall, ID: "a", Name: "f"}}}, call[2]}
	tests := []struct {
		name  string
		model string
		r     canon.Request
		want  codecPlan
	}{
		{"nothing", "claude-sonnet-4-5", canon.Request{}, codecPlan{maxTokens: 64000}},
		{"budget", "claude-sonnet-4-5", canon.Request{Reasoning: canon.Reasoning{Budget: 5000}, MaxTokens: 8000},
			codecPlan{think: codecThinkEnabled, budget: 5000, maxTokens: 8000}},
		{"budget over the model's max", "claude-opus-4-1", canon.Request{Reasoning: canon.Reasoning{Budget: 40000}},
			codecPlan{think: codecThinkEnabled, budget: 32000 - codecAnswerRoom, maxTokens: 32000}},
		{"dynamic budget", "claude-sonnet-4-5", canon.Request{Reasoning: canon.Reasoning{Budget: -1}},
			codecPlan{think: codecThinkEnabled, budget: codecDynamicBudget, maxTokens: 64000}},
		{"effort on a budget model", "claude-3-7-sonnet", canon.Request{Reasoning: canon.Reasoning{Effort: "high"}},
			codecPlan{think: codecThinkEnabled, budget: 16384, maxTokens: 64000}},
		{"effort on opus 4.5", "claude-opus-4-5", canon.Request{Reasoning: canon.Reasoning{Effort: "medium"}},
			codecPlan{think: codecThinkEnabled, budget: 8192, effort: "medium", maxTokens: 64000}},
		{"budget on opus 4.6", "claude-opus-4-6", canon.Request{Reasoning: canon.Reasoning{Budget: 3000}},
			codecPlan{think: codecThinkEnabled, budget: 3000, maxTokens: 128000}},
		{"effort on opus 4.6", "claude-opus-4-6", canon.Request{Reasoning: canon.Reasoning{Effort: "minimal"}},
			codecPlan{think: codecThinkAdaptiveOn, effort: "low", maxTokens: 128000}},
		{"budget on opus 4.7", "claude-opus-4-7", canon.Request{Reasoning: canon.Reasoning{Budget: 10000}, MaxTokens: 2000},
			codecPlan{think: codecThinkAdaptiveOn, effort: "medium", maxTokens: 2000}},
		{"dynamic on opus 4.7", "claude-opus-4-7", canon.Request{Reasoning: canon.Reasoning{Budget: -1}},
			codecPlan{think: codecThinkAdaptiveOn, maxTokens: 128000}},
		{"none", "claude-sonnet-4-5", canon.Request{Reasoning: canon.Reasoning{Effort: "none"}},
			codecPlan{think: codecThinkDisabled, maxTokens: 64000}},
		{"disabled on opus 4.7", "claude-opus-4-7", canon.Request{Reasoning: canon.Reasoning{Disabled: true}},
			codecPlan{maxTokens: 128000}},
		{"no thinking on claude 3.5", "claude-3-5-sonnet", canon.Request{Reasoning: canon.Reasoning{Effort: "high"}},
			codecPlan{maxTokens: 8192}},
		{"unsigned tool turn", "claude-sonnet-4-5", canon.Request{Reasoning: canon.Reasoning{Effort: "high"}, Messages: call},
			codecPlan{maxTokens: 64000}},
		{"signed tool turn", "claude-sonnet-4-5", canon.Request{Reasoning: canon.Reasoning{Effort: "high"}, Messages: signed},
			codecPlan{think: codecThinkEnabled, budget: 16384, maxTokens: 64000}},
		{"forced tool on opus 4.7", "claude-opus-4-7", canon.Request{Reasoning: canon.Reasoning{Effort: "max"},
			ToolChoice: canon.ToolChoice{Set: true, Mode: canon.ToolRequired}}, codecPlan{effort: "max", maxTokens: 128000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := codecModelProfile(tt.model)
			got, err := codecPlanThinking(&tt.r, &p)
			if err != nil || got != tt.want {
				t.Errorf("plan %+v, err %v; want %+v", got, err, tt.want)
			}
		})
	}
}
