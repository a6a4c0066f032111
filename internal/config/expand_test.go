package config

import (
	"strings"
	"testing"
)

// testEnv is a lookup over a fixed map, so tests never read the process
// environment.
func testEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestExpand(t *testing.T) {
	env := testEnv(map[string]string{
		"HOST":   "api.example.com",
		"PORT":   "8443",
		"EMPTY":  "",
		"_u1":    "under",
		"DOLLAR": "a$b${HOST}",
	})
	tests := []struct {
		in, want string
	}{
		{"plain", "plain"},
		{"", ""},
		{"${HOST}", "api.example.com"},
		{"https://${HOST}:${PORT}/v1", "https://api.example.com:8443/v1"},
		{"${UNSET}", ""},
		{"${EMPTY}", ""},
		{"${_u1}", "under"},
		{"${UNSET:-fallback}", "fallback"},
		{"${EMPTY:-fallback}", "fallback"},
		{"${HOST:-fallback}", "api.example.com"},
		{"${UNSET:-}", ""},
		{"${UNSET:-http://127.0.0.1:9000}/v1", "http://127.0.0.1:9000/v1"},
		{"${UNSET:-a:-b}", "a:-b"},
		{"${UNSET:-${HOST}}", "api.example.com"},
		{"${UNSET:-${ALSO_UNSET:-deep}}", "deep"},
		{"${UNSET:-$$}", "$"},
		{"$$", "$"},
		{"$${HOST}", "${HOST}"},
		{"a$$$$b", "a$$b"},
		{"$", "$"},
		{"cost: $5", "cost: $5"},
		{"$HOST", "$HOST"},
		{"x$", "x$"},
		{"}", "}"},
		{"${DOLLAR}", "a$b${HOST}"}, // values are not expanded again
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := expand(tt.in, env)
			if err != nil || got != tt.want {
				t.Fatalf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestExpandErrors(t *testing.T) {
	tests := []struct {
		in, wantErr string
	}{
		{"${", `unterminated "${"`},
		{"${HOST", `unterminated "${"`},
		{"abc ${HOST:-default", `unterminated "${"`},
		{"${A:-${B}", `unterminated "${"`},
		{"${}", `empty variable name in "${}"`},
		{"${:-x}", `empty variable name in "${:-"`},
		{"${1A}", `invalid variable name "1A"`},
		{"${9:-x}", `invalid variable name "9"`},
		{"${A-x}", `invalid reference starting "${A-"`},
		{"${A:?x}", `invalid reference starting "${A:?"`},
		{"${A B}", `invalid reference starting "${A "`},
		{"${A.B}", `invalid reference starting "${A."`},
		{"${A:-" + strings.Repeat("${A:-", 10) + "x" + strings.Repeat("}", 11), "nested more than"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := expand(tt.in, testEnv(nil))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("expand(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
		})
	}
}

// TestExpandErrorsHideDefaults checks that a malformed reference is not
// quoted past the point where it goes wrong: what follows may be a secret.
func TestExpandErrorsHideDefaults(t *testing.T) {
	for _, in := range []string{"${KEY-sk-secret-value}", "${KEY:=sk-secret-value}", "${KEY:-sk-secret-value"} {
		_, err := expand(in, testEnv(nil))
		if err == nil || strings.Contains(err.Error(), "secret-value") {
			t.Errorf("expand(%q) error = %v; want an error without the default", in, err)
		}
	}
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"${A}", "${A:-b}", "$$", "${A:-${B:-c}}", "${", "${1}", "$x", "${A:-}}"} {
		f.Add(s)
	}
	env := testEnv(map[string]string{"A": "a", "B": ""})
	f.Fuzz(func(t *testing.T, s string) {
		out, err := expand(s, env)
		if err == nil && !strings.Contains(s, "$") && out != s {
			t.Fatalf("expand changed %q without a $ into %q", s, out)
		}
	})
}
