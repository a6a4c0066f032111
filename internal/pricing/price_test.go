package pricing

import (
	"math"
	"testing"

	"github.com/sluice-gw/sluice/internal/config"
)

func ptr(f float64) *float64 { return &f }

func catalog(t testing.TB) *Table {
	t.Helper()
	tb, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// TestWorkedExamples prices usage by each vendor's published rules, with
// the expected USD worked out by hand (prices per million tokens from
// catalog.yaml).
func TestWorkedExamples(t *testing.T) {
	tb := catalog(t)
	for _, tt := range []struct {
		name  string
		model string
		u     Usage
		want  float64
	}{
		// Anthropic: input_tokens 1,000 + cache_read 2,000 + cache_creation
		// 500 (5m) = 3,500 prompt tokens; 300 output. claude-3-5-haiku:
		// 1000×0.80 + 2000×0.08 + 500×1.00 + 300×4 = 800+160+500+1200 =
		// 2660 per million = $0.00266.
		{"anthropic cache read and 5m write", "claude-3-5-haiku", Usage{Input: 3500, CacheRead: 2000, CacheWrite: 500, Output: 300}, 0.00266},
		// The same usage on the dated id and the -latest alias.
		{"anthropic dated id", "claude-3-5-haiku-20241022", Usage{Input: 3500, CacheRead: 2000, CacheWrite: 500, Output: 300}, 0.00266},
		{"anthropic -latest", "claude-3-5-haiku-latest", Usage{Input: 3500, CacheRead: 2000, CacheWrite: 500, Output: 300}, 0.00266},
		// Anthropic 1h writes: claude-sonnet-4-5, 10,000 plain + 20,000
		// written (5,000 with ttl 1h) + 50,000 read = 80,000 prompt; 2,000
		// output: 10000×3 + 15000×3.75 + 5000×6 + 50000×0.30 + 2000×15 =
		// 30000+56250+30000+15000+30000 = 161250 → $0.16125.
		{"anthropic 1h write", "claude-sonnet-4-5", Usage{Input: 80_000, CacheWrite: 20_000, CacheWrite1h: 5_000, CacheRead: 50_000, Output: 2_000}, 0.16125},
		// Anthropic long context: prompt 250,000 (> 200K, cache reads
		// counted) charges every token at the premium rates: 200000×6 +
		// 50000×0.60 + 1000×22.50 = 1,200,000+30,000+22,500 → $1.2525.
		{"anthropic long context", "claude-sonnet-4-5", Usage{Input: 250_000, CacheRead: 50_000, Output: 1_000}, 1.2525},
		// At exactly 200,000 the base rates hold: 200000×3 + 1000×15 →
		// $0.615.
		{"anthropic 200K is not above", "claude-sonnet-4-5", Usage{Input: 200_000, Output: 1_000}, 0.615},
		// OpenAI: prompt_tokens 10,000 of which cached_tokens 6,000;
		// completion 500. gpt-4o-mini: 4000×0.15 + 6000×0.075 + 500×0.60
		// = 600+450+300 → $0.00135.
		{"openai cached input", "gpt-4o-mini", Usage{Input: 10_000, CacheRead: 6_000, Output: 500}, 0.00135},
		{"openai dated snapshot", "gpt-4o-mini-2024-07-18", Usage{Input: 10_000, CacheRead: 6_000, Output: 500}, 0.00135},
		// OpenAI reasoning tokens are output tokens: o3-mini, 2,000 in,
		// 5,000 completion of which 4,000 reasoning: 2000×1.10 + 5000×4.40
		// = 2200+22000 → $0.0242.
		{"openai reasoning at output price", "o3-mini", Usage{Input: 2_000, Output: 5_000, Reasoning: 4_000}, 0.0242},
		// gpt-4o: 1,000 in (500 cached) + 100 out: 500×2.50 + 500×1.25 +
		// 100×10 = 1250+625+1000 → $0.002875; the first snapshot has its
		// own price, no cache discount: 1000×5 + 100×15 → $0.0065.
		{"openai gpt-4o", "gpt-4o-2024-08-06", Usage{Input: 1_000, CacheRead: 500, Output: 100}, 0.002875},
		{"openai exact snapshot wins", "gpt-4o-2024-05-13", Usage{Input: 1_000, CacheRead: 500, Output: 100}, 0.0065},
		// Embeddings: 1,000,000 tokens of text-embedding-3-small → $0.02.
		{"openai embeddings", "text-embedding-3-small", Usage{Input: 1_000_000}, 0.02},
		// Gemini 2.5 Pro, prompt 100,000 (cachedContentTokenCount 20,000),
		// 10,000 output (thoughts included): 80000×1.25 + 20000×0.125 +
		// 10000×10 = 100000+2500+100000 → $0.2025.
		{"gemini under 200K", "gemini-2.5-pro", Usage{Input: 100_000, CacheRead: 20_000, Output: 10_000}, 0.2025},
		// Above 200K input and output both step up: 300000×2.50 +
		// 10000×15 = 750000+150000 → $0.90.
		{"gemini above 200K", "gemini-2.5-pro", Usage{Input: 300_000, Output: 10_000}, 0.90},
		{"gemini models/ path and -001", "models/gemini-2.0-flash-001", Usage{Input: 1_000_000, Output: 1_000_000}, 0.50},
		// Bedrock Claude 3.5 Haiku: the Anthropic example at Bedrock's
		// prices (the same figures) → $0.00266; via a cross-region profile
		// too.
		{"bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0", Usage{Input: 3500, CacheRead: 2000, CacheWrite: 500, Output: 300}, 0.00266},
		{"bedrock us. profile", "us.anthropic.claude-3-5-haiku-20241022-v1:0", Usage{Input: 3500, CacheRead: 2000, CacheWrite: 500, Output: 300}, 0.00266},
		// Bedrock Nova Micro: 100,000 in (40,000 cached) + 10,000 out:
		// 60000×0.035 + 40000×0.00875 + 10000×0.14 = 2100+350+1400 →
		// $0.00385.
		{"bedrock nova", "amazon.nova-micro-v1:0", Usage{Input: 100_000, CacheRead: 40_000, Output: 10_000}, 0.00385},
		// A Claude id not listed for Bedrock takes Anthropic's price:
		// 1000×3 + 1000×15 → $0.018.
		{"bedrock falls back to anthropic", "eu.anthropic.claude-sonnet-4-20250514-v1:0", Usage{Input: 1_000, Output: 1_000}, 0.018},
		// Inconsistent usage never costs less than 0: 50 cache reads of
		// claude-3-5-haiku, Input 10 → 50×0.08 → $0.000004.
		{"inconsistent usage", "claude-3-5-haiku", Usage{Input: 10, CacheRead: 50, Output: -5}, 0.000004},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tb.Cost(tt.model, tt.u)
			if !ok || math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Cost(%s, %+v) = %v, %t; want %v", tt.model, tt.u, got, ok, tt.want)
			}
		})
	}
}

func TestOverrides(t *testing.T) {
	tb, err := New(map[string]config.Price{
		"gpt-4o-mini": {Input: 1, Output: 2}, // replaces the catalog row
		"my-model":    {Input: 10, Output: 20, CachedInput: ptr(1), CacheWrite: ptr(12)},
		// A provider that bills reasoning apart (as Gemini 2.5 Flash's
		// preview did): 1,000 output of which 800 reasoning: 200×0.60 +
		// 800×3.50 = 120+2800 → $0.00292.
		"thinker":          {Input: 0.15, Output: 0.60, Reasoning: ptr(3.50)},
		"claude-3-5-haiku": {Input: 1, Output: 5, CacheWrite: ptr(2)}, // keeps its aliases
		"tiered": {Input: 1, Output: 1, Tiers: []config.PriceTier{
			{Above: 1000, Input: 2, Output: 2}, {Above: 2000, Input: 3, Output: 3, CachedInput: ptr(0.5)},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		model string
		u     Usage
		want  float64
	}{
		{"gpt-4o-mini", Usage{Input: 1_000_000, CacheRead: 500_000, Output: 1_000_000}, 3}, // cached_input absent: the input price
		{"gpt-4o-mini-2024-07-18", Usage{Input: 1_000_000}, 1},
		{"my-model", Usage{Input: 3_000_000, CacheRead: 1_000_000, CacheWrite: 1_000_000, CacheWrite1h: 1_000_000}, 10 + 1 + 12}, // 1h absent: cache_write
		{"thinker", Usage{Output: 1_000, Reasoning: 800}, 0.00292},
		{"claude-3-5-haiku-latest", Usage{Input: 1_000_000, CacheWrite: 1_000_000}, 2},
		{"tiered", Usage{Input: 1000}, 1000e-6},
		{"tiered", Usage{Input: 1001}, 2002e-6},
		{"tiered", Usage{Input: 3000, CacheRead: 1000, Output: 10}, (2000*3 + 1000*0.5 + 10*3) * 1e-6},
	} {
		if got, ok := tb.Cost(tt.model, tt.u); !ok || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Cost(%s, %+v) = %v, %t; want %v", tt.model, tt.u, got, ok, tt.want)
		}
	}
	for id, want := range map[string]struct {
		provider   string
		overridden bool
	}{"gpt-4o-mini": {"openai", true}, "my-model": {ProviderConfig, true}, "gpt-4o": {"openai", false}} {
		e, ok := tb.Lookup(id)
		if !ok || e.Provider != want.provider || e.Overridden != want.overridden {
			t.Errorf("Lookup(%s) = %+v, %t; want provider %s, overridden %t", id, e, ok, want.provider, want.overridden)
		}
	}
	if _, err := New(map[string]config.Price{"bad": {Input: -1}}); err == nil {
		t.Error("a negative price was accepted")
	}
	if _, err := New(map[string]config.Price{"bad": {Tiers: []config.PriceTier{{Above: 5}, {Above: 5}}}}); err == nil {
		t.Error("tiers that do not rise were accepted")
	}
}

func TestLookup(t *testing.T) {
	tb := catalog(t)
	for in, want := range map[string]string{
		"claude-3-5-haiku-20241022":                        "claude-3-5-haiku",
		"claude-3-5-haiku-latest":                          "claude-3-5-haiku",
		"claude-sonnet-4-0":                                "claude-sonnet-4",
		"claude-sonnet-4-5@20250929":                       "claude-sonnet-4-5",
		"claude-opus-4-1-20250805":                         "claude-opus-4-1",
		"gpt-4o-2024-11-20":                                "gpt-4o",
		"gpt-4o-2024-05-13":                                "gpt-4o-2024-05-13",
		"openai/gpt-4o-mini":                               "gpt-4o-mini",
		"gemini-2.0-flash-001":                             "gemini-2.0-flash",
		"global.anthropic.claude-sonnet-4-5-20250929-v1:0": "anthropic.claude-sonnet-4-5-20250929-v1:0",
		"amazon.titan-embed-text-v2:0":                     "amazon.titan-embed-text-v2:0",
	} {
		e, ok := tb.Lookup(in)
		if !ok || e.Model != want {
			t.Errorf("Lookup(%q) = %v, %t; want %s", in, e, ok, want)
		}
	}
	for _, in := range []string{"", "gpt-4o-mini-search-preview", "llama-3", "some/path/", "claude-3-5-haiku-2024"} {
		if e, ok := tb.Lookup(in); ok {
			t.Errorf("Lookup(%q) = %s, want none", in, e.Model)
		}
	}
	var nilTable *Table
	if c, ok := nilTable.Cost("gpt-4o", Usage{Input: 1}); ok || c != 0 {
		t.Error("a nil table priced something")
	}
}

func TestCatalog(t *testing.T) {
	tb := catalog(t)
	if tb.Date() != "2026-12-07" {
		t.Errorf("date %q", tb.Date())
	}
	if len(tb.Sources()) != 4 {
		t.Errorf("sources %v", tb.Sources())
	}
	// The current flagship and small models of each vendor.
	for _, m := range []string{
		"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-5", "gpt-5-mini", "text-embedding-3-small", "text-embedding-3-large",
		"claude-opus-5", "claude-sonnet-5-5", "claude-haiku-4-5", "claude-3-5-haiku",
		"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash", "gemini-embedding-001",
		"anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0", "amazon.nova-pro-v1:0", "amazon.titan-embed-text-v2:0",
	} {
		if _, ok := tb.Lookup(m); !ok {
			t.Errorf("catalog lacks %s", m)
		}
	}
	rows := tb.Entries()
	for i := 1; i < len(rows); i++ {
		a, b := rows[i-1], rows[i]
		if a.Provider > b.Provider || a.Provider == b.Provider && a.Model >= b.Model {
			t.Errorf("rows out of order: %s/%s before %s/%s", a.Provider, a.Model, b.Provider, b.Model)
		}
	}
}

func BenchmarkCost(b *testing.B) {
	tb := catalog(b)
	u := Usage{Input: 3500, CacheRead: 2000, CacheWrite: 500, Output: 300}
	b.ReportAllocs()
	for b.Loop() {
		tb.Cost("claude-3-5-haiku", u)
		tb.Cost("us.anthropic.claude-3-5-haiku-20241022-v1:0", u)
	}
}
