package guard

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name string
		sets []Set
		want []string // substrings, one per expected problem
	}{
		{"valid", []Set{{Name: "a", Rules: l2Rules()}}, nil},
		{"unknown kind", []Set{{Name: "a", Rules: []Rule{{Name: "x", Kind: "regexp", Action: Block, Scope: Input}}}},
			[]string{`guardrail set "a" rule "x" kind: unknown kind "regexp"`}},
		{"bad pattern", []Set{{Name: "a", Rules: []Rule{reRule("x", `(unclosed`, Block, Input)}}},
			[]string{`guardrail set "a" rule "x" pattern: invalid regular expression`}},
		{"empty match", []Set{{Name: "a", Rules: []Rule{reRule("x", `a*`, Block, Input), reRule("y", `\b(?:z)?`, Block, Input), reRule("z", `(?:)`, Block, Input)}}},
			[]string{`rule "x" pattern: matches the empty string`, `rule "z" pattern: matches the empty string`}},
		{"no pattern", []Set{{Name: "a", Rules: []Rule{reRule("x", ``, Block, Input)}}},
			[]string{`rule "x" pattern: required`}},
		{"max_len range", []Set{{Name: "a", Rules: []Rule{{Name: "x", Kind: KindRegex, Pattern: "a", MaxLen: -1, Action: Block, Scope: Input}}}},
			[]string{`rule "x" max_len: must be between 0 and 65536`}},
		{"empty keywords", []Set{{Name: "a", Rules: []Rule{{Name: "k", Kind: KindKeywords, Action: Flag, Scope: Input}}}},
			[]string{`rule "k" words: invalid keyword list`}},
		{"size rule problems", []Set{{Name: "a", Rules: []Rule{
			{Name: "c", Kind: KindMaxChars, Action: Redact, Scope: Output},
			{Name: "m", Kind: KindMaxMessages, Limit: 3, Action: Block, Pattern: "x"},
		}}}, []string{`rule "c" action: a max_chars rule cannot redact`, `rule "c" scope: a max_chars rule applies to input only`,
			`rule "c" limit: must be positive, got 0`, `rule "m" pattern: not used by kind max_messages`}},
		{"action and scope", []Set{{Name: "a", Rules: []Rule{{Name: "e", Kind: "email"}}}},
			[]string{`rule "e" action: invalid action 0`, `rule "e" scope: invalid scope 0`}},
		{"misplaced fields", []Set{{Name: "a", Rules: []Rule{{Name: "e", Kind: "email", Words: []string{"x"}, WholeWords: true, Action: Flag, Scope: Input}}}},
			[]string{`rule "e" words: not used by kind email`, `rule "e" whole_words: not used by kind email`}},
		{"names", []Set{
			{Name: "a", Rules: []Rule{{Name: "e", Kind: "email", Action: Flag, Scope: Input}, {Name: "e", Kind: "ip", Action: Flag, Scope: Input}, {Name: "a b", Kind: "ip", Action: Flag, Scope: Input}}},
			{Name: "a", Rules: l2Rules()},
			{Name: "", Rules: l2Rules()},
			{Name: "empty"},
		}, []string{`rule "e" name: duplicate rule name "e"`, `rule "a b" name: invalid rule name`, `guardrail set "a": duplicate set name`,
			`guardrail set "": invalid set name`, `guardrail set "empty": no rules`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.sets, Options{})
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New succeeded, want %d problems", len(tt.want))
			}
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) || len(joined.Unwrap()) != len(tt.want) {
				t.Fatalf("want %d problems, got:\n%v", len(tt.want), err)
			}
			for i, e := range joined.Unwrap() {
				var re *RuleError
				if !errors.As(e, &re) {
					t.Errorf("problem %d is %T, want *RuleError", i, e)
				}
				if !strings.Contains(e.Error(), tt.want[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, e, tt.want[i])
				}
			}
		})
	}
	if _, err := New(nil, Options{ScanLimit: -1}); err == nil {
		t.Error("a negative scan limit was accepted")
	}
}

func TestPolicy(t *testing.T) {
	e, err := New([]Set{
		{Name: "pii", Rules: l2Rules()},
		{Name: "extra", Rules: []Rule{
			{Name: "email", Kind: "email", Action: Block, Scope: Output}, // shadowed by pii's
			{Name: "ip", Kind: "ip", Action: Flag, Scope: Output},
		}},
		{Name: "size", Rules: []Rule{{Name: "n", Kind: KindMaxMessages, Limit: 5, Action: Block}}},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("union keeps the first rule of a name", func(t *testing.T) {
		p, err := e.Policy("pii", "extra", "pii")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range p.out {
			names = append(names, r.name+":"+r.action.String())
		}
		if got := strings.Join(names, ","); got != "email:redact,ip:flag" {
			t.Errorf("output rules = %s", got)
		}
		if len(p.in) != 3 || !p.HasInput() || !p.HasOutput() {
			t.Errorf("input rules = %d", len(p.in))
		}
		if p.hold != 0 || p.keep != 256 {
			t.Errorf("hold = %d, keep = %d, want no regex hold and email's 256 bytes of context", p.hold, p.keep)
		}
	})
	t.Run("cached", func(t *testing.T) {
		var wg sync.WaitGroup
		ps := make([]*Policy, 8)
		for i := range ps {
			wg.Go(func() { ps[i], _ = e.Policy("extra", "size") })
		}
		wg.Wait()
		for _, p := range ps[1:] {
			if p != ps[0] || p == nil {
				t.Fatal("Policy built more than one *Policy for the same sets")
			}
		}
		if ps[0].HasInput() != true || len(ps[0].size) != 1 || len(ps[0].in) != 0 {
			t.Errorf("size-only input policy: %+v", ps[0])
		}
	})
	t.Run("unknown set", func(t *testing.T) {
		_, err := e.Policy("pii", "nope", "nada")
		if err == nil || !strings.Contains(err.Error(), `"nope", "nada"`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("no sets, no rules", func(t *testing.T) {
		p, err := e.Policy()
		if err != nil || p.HasInput() || p.HasOutput() {
			t.Fatalf("empty policy: %v", err)
		}
	})
}

func TestNames(t *testing.T) {
	for _, a := range []Action{Flag, Redact, Block} {
		if got, ok := ParseAction(a.String()); !ok || got != a {
			t.Errorf("ParseAction(%q) = %v", a, got)
		}
	}
	tests := []struct {
		s    Scope
		name string
	}{{Input, "input"}, {Output, "output"}, {Input | Output, "input+output"}}
	for _, tt := range tests {
		if tt.s.String() != tt.name {
			t.Errorf("%d.String() = %q, want %q", tt.s, tt.s.String(), tt.name)
		}
	}
	if s, ok := ParseScope("both"); !ok || s != Input|Output {
		t.Errorf("ParseScope(both) = %v", s)
	}
	if _, ok := ParseAction("deny"); ok {
		t.Error("ParseAction accepted deny")
	}
	v := &Violation{Rule: "ssn", Scope: Input}
	if !strings.Contains(v.Error(), `"ssn"`) {
		t.Errorf("Violation.Error() = %q", v.Error())
	}
}
