package auth

import (
	"crypto/sha256"
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	prefixes := map[string]bool{}
	for range 200 {
		secret, prefix, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, SecretPrefix) || len(secret) != len(SecretPrefix)+43 {
			t.Fatalf("secret has the wrong shape (length %d)", len(secret))
		}
		for _, c := range secret[len(SecretPrefix):] {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				t.Fatalf("secret has a non-base62 character %q", c)
			}
		}
		if prefix != secret[:PrefixLen] || len(prefix) != 14 {
			t.Fatalf("prefix is not the secret's first %d characters", PrefixLen)
		}
		if seen[secret] {
			t.Fatal("Generate repeated a secret")
		}
		seen[secret] = true
		prefixes[prefix] = true
	}
	// 24 random bits of prefix: 200 keys share one only by a fluke.
	if len(prefixes) < 195 {
		t.Errorf("only %d distinct prefixes in 200 keys", len(prefixes))
	}
}

func TestHash(t *testing.T) {
	if Hash([]byte("sk-1")) != sha256.Sum256([]byte("sk-1")) {
		t.Error("Hash is not SHA-256")
	}
}

func TestNewID(t *testing.T) {
	a, err := newID()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newID()
	if a == b || !strings.HasPrefix(a, "key_") || len(a) != 4+22 {
		t.Errorf("ids %q %q", a, b)
	}
}

func TestStaticPrefix(t *testing.T) {
	for _, tt := range []struct{ key, want string }{
		{"sk-bench-0001", "sk-b"},
		{"ab", ""},
		{"a-very-long-static-key-indeed", "a-very-l"},
	} {
		if got := staticPrefix(tt.key); got != tt.want {
			t.Errorf("staticPrefix(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}
