package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, and it
// returns either a Config or Errors, never both and never neither.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"../../examples/*.yaml", "../../bench/configs/*.yaml", "../../cmd/sluice/testdata/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			f.Add(readFile(f, file))
		}
	}
	for _, s := range []string{
		minimal,
		"",
		"a: &x [*x]\n",
		"providers: [{<<: *nope}]\n",
		"providers:\n  - &p {name: a, kind: openai, base_url: 'http://x'}\n  - <<: [*p, *p]\n    name: b\n",
		"server: {listen: ${A:-${B:-${C}}}}\n",
		"models:\n  -\n  - name: x\n    targets: [~, {weight: -1}]\n",
		"? [a]\n: b\n",
		"log: !!str {a: 1}\n",
		"--- a\n--- b\n",
	} {
		f.Add([]byte(s))
	}
	env := testEnv(map[string]string{"A": "1", "B": ""})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data, env)
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v", c != nil, err)
		}
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("Parse error is not a non-empty Errors: %#v", err)
			}
		}
	})
}
