package wire

// Usage is the token usage of one exchange as the upstream reported it.
type Usage struct {
	Input      int64 // prompt / input tokens (cached ones included)
	Output     int64 // completion / output tokens
	CacheRead  int64 // input tokens served from the provider's cache
	CacheWrite int64 // input tokens written to the cache (Anthropic)
	Valid      bool  // the upstream reported usage
}
