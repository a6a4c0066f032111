package pricing

import "strings"

// maxRewrites bounds the rewrites of one lookup; each shortens the id.
const maxRewrites = 8

// Lookup finds model's entry: the exact id (or a catalog alias) first,
// then the id rewritten one step at a time, each step tried before the
// next, in this order:
//
//  1. a leading path is dropped: "openai/gpt-4o" and "models/gemini-2.5-pro"
//     → after the last '/';
//  2. a Bedrock cross-region prefix is dropped: "us.", "eu.", "apac.",
//     "jp.", "au.", "ca.", "global." ("us.anthropic.claude-…" →
//     "anthropic.claude-…");
//  3. a Bedrock version suffix is dropped: "-v1:0", ":0" ("…-v2:0");
//  4. a date or version suffix is dropped: "-latest", "-YYYY-MM-DD"
//     (OpenAI), "-YYYYMMDD" and "@YYYYMMDD" (Anthropic, Vertex), "-NNN"
//     (Gemini's "-001");
//  5. Bedrock's vendor prefix "anthropic." is dropped, so that a Claude id
//     not listed for Bedrock takes Anthropic's price.
//
// So claude-3-5-haiku-20241022 → claude-3-5-haiku, gpt-4o-2024-08-06 →
// gpt-4o, gemini-2.0-flash-001 → gemini-2.0-flash, while an id listed
// exactly (gpt-4o-2024-05-13, priced apart) is found first. It does not
// allocate.
func (t *Table) Lookup(model string) (*Entry, bool) {
	if t == nil {
		return nil, false
	}
	name := model
	for range maxRewrites {
		if e := t.m[name]; e != nil {
			return e, true
		}
		next, ok := rewrite(name)
		if !ok {
			break
		}
		name = next
	}
	return nil, false
}

// geoPrefixes are Bedrock's cross-region inference profile prefixes.
var geoPrefixes = [...]string{"us.", "eu.", "apac.", "jp.", "au.", "ca.", "us-gov.", "global."}

// rewrite applies the first rule of Lookup that changes s.
func rewrite(s string) (string, bool) {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:], true
	}
	for _, p := range geoPrefixes {
		if strings.HasPrefix(s, p) {
			return s[len(p):], true
		}
	}
	if i := strings.LastIndexByte(s, ':'); i > 0 && allDigits(s[i+1:]) {
		s = s[:i]
		if j := strings.LastIndex(s, "-v"); j > 0 && allDigits(s[j+2:]) {
			s = s[:j]
		}
		return s, true
	}
	if r, ok := strings.CutSuffix(s, "-latest"); ok {
		return r, true
	}
	if n := len(s); n > 11 && s[n-11] == '-' && s[n-6] == '-' && s[n-3] == '-' &&
		allDigits(s[n-10:n-6]) && allDigits(s[n-5:n-3]) && allDigits(s[n-2:]) {
		return s[:n-11], true // -YYYY-MM-DD
	}
	if n := len(s); n > 9 && (s[n-9] == '-' || s[n-9] == '@') && allDigits(s[n-8:]) {
		return s[:n-9], true // -YYYYMMDD, @YYYYMMDD
	}
	if n := len(s); n > 4 && s[n-4] == '-' && allDigits(s[n-3:]) {
		return s[:n-4], true // -001
	}
	if r, ok := strings.CutPrefix(s, "anthropic."); ok {
		return r, true
	}
	return "", false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
