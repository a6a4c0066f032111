package route

import "testing"

func TestResolve(t *testing.T) {
	public := map[string]int{"gpt-4o-mini": 1, "openai/gpt-4o": 2}
	providers := map[string]string{"openai": "P"}
	for _, tc := range []struct {
		name string
		m    int
		p    string
		ok   bool
	}{
		{"gpt-4o-mini", 1, "", true},
		{"openai/gpt-4o", 2, "", true}, // a public model of that name comes first
		{"openai/gpt-4.1", 0, "P", true},
		{"openai/", 0, "", false},
		{"/gpt-4o", 0, "", false},
		{"azure/gpt-4o", 0, "", false},
		{"nope", 0, "", false},
	} {
		m, p, ok := Resolve(tc.name, public, providers)
		if m != tc.m || p != tc.p || ok != tc.ok {
			t.Errorf("Resolve(%q) = %v, %q, %v; want %v, %q, %v", tc.name, m, p, ok, tc.m, tc.p, tc.ok)
		}
	}
}
