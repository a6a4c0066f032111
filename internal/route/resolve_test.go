package route

import "testing"

func TestResolve(t *testing.T) {
	public := map[string]int{"gpt-4o-mini": 1, "openai/gpt-4o": 2, "claude-opus-4-8": 3}
	providers := map[string]string{"openai": "P"}
	// Prefixes of "claude-*", "claude-opus-*", "gpt-5*" and "*", in no
	// particular order: SortPatterns orders them.
	named := []Pattern[int]{{"claude-", 11}, {"", 10}, {"claude-opus-", 12}, {"gpt-5", 13}}
	SortPatterns(named)
	catchAll := named
	noCatchAll := named[:len(named)-1] // "*" sorts last
	if named[len(named)-1].Prefix != "" {
		t.Fatalf("SortPatterns left %+v", named)
	}
	for _, tc := range []struct {
		name     string
		patterns []Pattern[int]
		m        int
		p        string
		ok       bool
	}{
		{"gpt-4o-mini", catchAll, 1, "", true},
		{"openai/gpt-4o", catchAll, 2, "", true}, // a public model of that name comes first
		{"openai/gpt-4.1", catchAll, 0, "P", true},
		{"openai/claude-opus-4-9", catchAll, 0, "P", true}, // provider/model before patterns
		{"claude-opus-4-8", catchAll, 3, "", true},         // an exact name beats every pattern
		{"claude-opus-4-9", catchAll, 12, "", true},        // the longest prefix wins
		{"claude-sonnet-4-5", catchAll, 11, "", true},      // over a shorter one
		{"claude-", catchAll, 11, "", true},                // a prefix matches itself
		{"gpt-5.1-codex", catchAll, 13, "", true},
		{"gpt-4.1", catchAll, 10, "", true}, // "*" catches the rest
		{"openai/", catchAll, 10, "", true}, // not "provider/model"
		{"azure/gpt-4o", catchAll, 10, "", true},
		{"", catchAll, 0, "", false}, // a pattern never matches ""
		{"gpt-4.1", noCatchAll, 0, "", false},
		{"openai/", noCatchAll, 0, "", false},
		{"/gpt-4o", noCatchAll, 0, "", false},
		{"azure/gpt-4o", noCatchAll, 0, "", false},
		{"claude", noCatchAll, 0, "", false},
		{"nope", nil, 0, "", false},
	} {
		m, p, ok := Resolve(tc.name, public, providers, tc.patterns)
		if m != tc.m || p != tc.p || ok != tc.ok {
			t.Errorf("Resolve(%q, %d patterns) = %v, %q, %v; want %v, %q, %v", tc.name, len(tc.patterns), m, p, ok, tc.m, tc.p, tc.ok)
		}
	}
}

func BenchmarkResolve(b *testing.B) {
	public := map[string]int{"gpt-4o-mini": 1, "claude-3-5-haiku": 2}
	providers := map[string]int{"openai": 1, "anthropic": 2}
	patterns := []Pattern[int]{{"claude-", 3}, {"gpt-", 4}, {"gemini-", 5}, {"", 6}}
	SortPatterns(patterns)
	for _, name := range []string{"gpt-4o-mini", "openai/gpt-4.1", "claude-opus-4-8", "o4-mini"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Resolve(name, public, providers, patterns)
			}
		})
	}
}
