package walk

import (
	"encoding/json"
	"testing"
)

// checkValidString compares ValidString with encoding/json on the string
// literal "s" when s holds no unescaped quote (StrEnd ends it at its last
// byte).
func checkValidString(t *testing.T, s []byte) {
	t.Helper()
	lit := append(append([]byte{'"'}, s...), '"')
	if e, _ := StrEnd(lit, 0); e != len(lit) {
		return
	}
	if got, want := ValidString(lit, Span{0, len(lit)}), json.Valid(lit); got != want {
		t.Errorf("ValidString(%s) = %v, encoding/json says %v", lit, got, want)
	}
}

func TestValidString(t *testing.T) {
	for _, s := range []string{
		"", "plain", "long plain text well past eight bytes", "é🙂 and \xff (UTF-8 is not checked)",
		`\"\\\/\b\f\n\r\t`, `\u00e9\uD83D\uDE00 \u0000`, "12345678\\n12345678",
		"tab\there", "nul\x00", "\x1f", "12345678\x01", `\x`, `\u12`, `\u12g4`, `\`, `a\'`,
	} {
		t.Run(s, func(t *testing.T) { checkValidString(t, []byte(s)) })
	}
	for _, tc := range []struct {
		s    string
		want bool
	}{{"tab\there", false}, {`\u00e9`, true}, {`\u00e`, false}, {"x\x7f", true}} {
		lit := []byte(`"` + tc.s + `"`)
		if got := ValidString(lit, Span{0, len(lit)}); got != tc.want {
			t.Errorf("ValidString(%q) = %v, want %v", lit, got, tc.want)
		}
	}
}

// FuzzValidString: ValidString agrees with encoding/json.Valid.
func FuzzValidString(f *testing.F) {
	f.Add([]byte(`plain \u00e9\n`))
	f.Add([]byte("12345678\x01"))
	f.Add([]byte(`\u12`))
	f.Fuzz(checkValidString)
}
