package auth

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/config"
)

// FuzzAuthenticate feeds hostile presented keys (SQL metacharacters, NUL
// bytes, 64 KB values, near misses of real keys) to the request path's key
// check. Every one must be refused as missing or unknown, without a panic,
// and without a single call into the store: the request path never
// touches it, so no header value can ever reach SQL.
func FuzzAuthenticate(f *testing.F) {
	st, err := OpenSQLite(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	counting := &countingStore{Store: st}
	cfg := testConfig("", config.StaticKey{Key: staticSecret})
	s, err := newService(cfg, counting, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	// Load once, without the background poll, so that any store call
	// during the fuzzing is the key check's.
	if err := s.load(context.Background()); err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	var real []string
	for range 3 {
		_, secret, err := s.Create(ctx, KeyInput{})
		if err != nil {
			f.Fatal(err)
		}
		real = append(real, secret)
	}
	for _, seed := range []string{
		"", " ", "\x00", "sk-sluice-\x00", "' OR '1'='1", "'; DROP TABLE api_keys; --", `" OR ""="`,
		"Bearer " + real[0], real[0] + "\x00", real[0][:len(real[0])-1], strings.ToUpper(real[0]), " " + real[0],
		staticSecret + "\n", "%00", "\\x00\\x27", "\u202e" + real[1], strings.Repeat("A", 64<<10),
		strings.Repeat("'", 64<<10), strings.Repeat("\x00", MaxSecretLen), strings.Repeat("k", MaxSecretLen+1),
		SecretPrefix + strings.Repeat("0", 43),
	} {
		f.Add([]byte(seed))
	}
	before := counting.calls.Load()
	if before < 5 { // Migrate, Changes, 3 × Create: the wrapper sees calls
		f.Fatalf("the counting store saw %d calls while loading and creating", before)
	}
	f.Fuzz(func(t *testing.T, key []byte) {
		for _, r := range append(real, staticSecret) {
			if string(key) == r {
				return // a real key: not hostile
			}
		}
		p, st := s.Cache().Authenticate(key)
		want := StatusUnknown
		if len(key) == 0 {
			want = StatusMissing
		}
		if st != want || p != nil {
			t.Fatalf("Authenticate(%d bytes) = %v, %v; want %v", len(key), p, st, want)
		}
		if n := counting.calls.Load(); n != before {
			t.Fatalf("the key check called the store (%d calls)", n-before)
		}
	})
}

// FuzzDecodeTeamInput feeds arbitrary bodies to the team create decoder:
// it must never panic, refuse only with a *FieldError, and accept only
// normalized, valid input whose JSON decodes back to itself.
func FuzzDecodeTeamInput(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"id":"eng"}`, `{"id":"team:x"}`, `{"name":"a","models":["gpt-*"],"rpm":1,"tpm":2,"max_concurrent":3}`,
		`{"budget_usd":1e308,"budget_period":"day"}`, `{"end_user_limits":{"rpm":1,"budget_usd":0.5}}`,
		`{"end_user_limits":{"x":1}}`, `{"tags":{"a":null}}`, `{"models":null}`, `[]`, `null`, `{"rpm":1e30}`,
		`{"id":"` + strings.Repeat("a", 65) + `"}`, `{"spend_usd":1}`, `{"a":1}{"b":2}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, in, err := DecodeTeamInput(body)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("DecodeTeamInput error %T %v, want a *FieldError", err, err)
			}
			return
		}
		if id != "" && teamIDProblem(id) != "" {
			t.Fatalf("accepted id %q", id)
		}
		if err := validateTeam(&in); err != nil {
			t.Fatalf("accepted input fails validation: %v", err)
		}
		again := in
		normalizeTeam(&again)
		if !reflect.DeepEqual(again, in) {
			t.Fatalf("accepted input is not normalized: %+v", in)
		}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		_, back, err := DecodeTeamInput(b)
		if err != nil || !reflect.DeepEqual(back, in) {
			t.Fatalf("round trip of %s = %+v, %v", b, back, err)
		}
	})
}
