package wire

// Usage is the token usage of one exchange as the upstream reported it,
// in the conventions every format is mapped to: Input counts every prompt
// token (cache reads and writes included, as OpenAI counts them), Output
// every completion token (reasoning included).
type Usage struct {
	Input      int64 // prompt / input tokens (cached ones included)
	Output     int64 // completion / output tokens
	CacheRead  int64 // input tokens served from the provider's cache
	CacheWrite int64 // input tokens written to the cache (Anthropic, Bedrock)
	Valid      bool  // the upstream reported usage
	// Reasoning is how many of Output were reasoning tokens (OpenAI
	// reasoning_tokens, Gemini thoughtsTokenCount); 0: none or not reported.
	Reasoning int64
	// CacheWrite1h is how many of CacheWrite were written with a one-hour
	// lifetime (Anthropic cache_creation.ephemeral_1h_input_tokens).
	CacheWrite1h int64
}

// Merge takes into u every field of v that is set (non-zero), as a later
// usage report replaces what an earlier one said (a stream's usage
// events); u is valid once v is, or once v sets a field.
func (u *Usage) Merge(v *Usage) {
	set := false
	for _, p := range [...][2]*int64{
		{&u.Input, &v.Input}, {&u.Output, &v.Output}, {&u.CacheRead, &v.CacheRead},
		{&u.CacheWrite, &v.CacheWrite}, {&u.Reasoning, &v.Reasoning}, {&u.CacheWrite1h, &v.CacheWrite1h},
	} {
		if *p[1] != 0 {
			*p[0], set = *p[1], true
		}
	}
	u.Valid = u.Valid || v.Valid || set
}
