package telemetry

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// Record is one request's log row, built by the gateway once the reply has
// completed (on every exit path) and handed to Pipeline.Submit. Its JSON
// form is what GET /admin/v1/logs returns in data: snake_case names,
// durations as float milliseconds (latency_ms, ttft_ms, upstream_ms) except
// overhead_us (integer microseconds), bodies as JSON strings.
type Record struct {
	// RequestID is the x-request-id; rows are unique on it (see doc.go).
	RequestID string `json:"request_id"`
	// Time is when the request arrived, in UTC. Submit stamps the
	// pipeline's clock when it is zero. PostgreSQL keeps microseconds.
	Time time.Time `json:"time"`

	KeyID   string `json:"key_id"`
	KeyName string `json:"key_name"`
	Team    string `json:"team"`
	// Tags are the key's tags. Submit does not copy the map: the caller
	// must not change it afterwards (keys' tag maps are immutable).
	Tags map[string]string `json:"tags,omitempty"`

	EndUser   string `json:"end_user"`
	ClientIP  string `json:"client_ip"`
	UserAgent string `json:"user_agent"`

	// Route is the client path, e.g. "/v1/chat/completions".
	Route string `json:"route"`
	// Format is the client's API format: "openai" or "anthropic".
	Format string `json:"format"`
	// Model is the public model name the client asked for.
	Model         string `json:"model"`
	Provider      string `json:"provider"`
	UpstreamModel string `json:"upstream_model"`
	Stream        bool   `json:"stream"`

	// Status is the HTTP status answered; 499 when the client went away.
	Status    int    `json:"status"`
	ErrorCode string `json:"error_code,omitempty"`
	// Attempts counts upstream attempts, retries and fallbacks included.
	Attempts int `json:"attempts"`
	// Fallback is set when a target other than the first one served.
	Fallback bool `json:"fallback"`

	Latency      time.Duration `json:"latency_ms"`
	TTFT         time.Duration `json:"ttft_ms"`
	UpstreamTime time.Duration `json:"upstream_ms"`
	// Overhead is the gateway's own time: Latency minus UpstreamTime.
	Overhead time.Duration `json:"overhead_us"`

	// PromptTokens counts every input token, cache reads and writes
	// included; CompletionTokens every output token, reasoning included.
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	// CachedTokens are the prompt tokens read from the provider's cache.
	CachedTokens int64 `json:"cached_tokens"`
	// CacheWriteTokens are the prompt tokens written to the provider's
	// cache (Anthropic, Bedrock).
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	// ReasoningTokens are the completion tokens spent reasoning, where
	// the provider reports them.
	ReasoningTokens int64 `json:"reasoning_tokens"`
	// TokensEstimated is set when the upstream reported no usage.
	TokensEstimated bool    `json:"tokens_estimated"`
	CostUSD         float64 `json:"cost_usd"`

	Guardrails []Verdict `json:"guardrails,omitempty"`
	// RateLimit names the refusal that answered 429: "rpm", "tpm",
	// "concurrency", "budget"; "" otherwise.
	RateLimit string `json:"rate_limit"`

	// RequestBody and ResponseBody are set only when body logging is on,
	// already redacted and capped by the gateway. Submit copies them.
	RequestBody  []byte `json:"request_body,omitempty"`
	ResponseBody []byte `json:"response_body,omitempty"`
}

// Verdict is one guardrail rule that matched a request.
type Verdict struct {
	Rule   string `json:"rule"`
	Action string `json:"action"`
	Scope  string `json:"scope"`
	Count  int    `json:"count"`
}

// recordJSON is Record's wire form.
type recordJSON struct {
	RequestID        string            `json:"request_id"`
	Time             time.Time         `json:"time"`
	KeyID            string            `json:"key_id"`
	KeyName          string            `json:"key_name"`
	Team             string            `json:"team"`
	Tags             map[string]string `json:"tags,omitempty"`
	EndUser          string            `json:"end_user"`
	ClientIP         string            `json:"client_ip"`
	UserAgent        string            `json:"user_agent"`
	Route            string            `json:"route"`
	Format           string            `json:"format"`
	Model            string            `json:"model"`
	Provider         string            `json:"provider"`
	UpstreamModel    string            `json:"upstream_model"`
	Stream           bool              `json:"stream"`
	Status           int               `json:"status"`
	ErrorCode        string            `json:"error_code,omitempty"`
	Attempts         int               `json:"attempts"`
	Fallback         bool              `json:"fallback"`
	LatencyMS        float64           `json:"latency_ms"`
	TTFTMS           float64           `json:"ttft_ms"`
	UpstreamMS       float64           `json:"upstream_ms"`
	OverheadUS       int64             `json:"overhead_us"`
	PromptTokens     int64             `json:"prompt_tokens"`
	CompletionTokens int64             `json:"completion_tokens"`
	CachedTokens     int64             `json:"cached_tokens"`
	CacheWriteTokens int64             `json:"cache_write_tokens"`
	ReasoningTokens  int64             `json:"reasoning_tokens"`
	TokensEstimated  bool              `json:"tokens_estimated"`
	CostUSD          float64           `json:"cost_usd"`
	Guardrails       []Verdict         `json:"guardrails,omitempty"`
	RateLimit        string            `json:"rate_limit"`
	RequestBody      string            `json:"request_body,omitempty"`
	ResponseBody     string            `json:"response_body,omitempty"`
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fromMillis(ms float64) time.Duration {
	return time.Duration(math.Round(ms * float64(time.Millisecond)))
}

// MarshalJSON writes the admin API's form of the record.
func (r Record) MarshalJSON() ([]byte, error) {
	return json.Marshal(recordJSON{
		RequestID: r.RequestID, Time: r.Time.UTC(),
		KeyID: r.KeyID, KeyName: r.KeyName, Team: r.Team, Tags: r.Tags,
		EndUser: r.EndUser, ClientIP: r.ClientIP, UserAgent: r.UserAgent,
		Route: r.Route, Format: r.Format, Model: r.Model, Provider: r.Provider,
		UpstreamModel: r.UpstreamModel, Stream: r.Stream,
		Status: r.Status, ErrorCode: r.ErrorCode, Attempts: r.Attempts, Fallback: r.Fallback,
		LatencyMS: millis(r.Latency), TTFTMS: millis(r.TTFT), UpstreamMS: millis(r.UpstreamTime),
		OverheadUS:   r.Overhead.Microseconds(),
		PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens, CachedTokens: r.CachedTokens,
		CacheWriteTokens: r.CacheWriteTokens, ReasoningTokens: r.ReasoningTokens,
		TokensEstimated: r.TokensEstimated, CostUSD: r.CostUSD,
		Guardrails: r.Guardrails, RateLimit: r.RateLimit,
		RequestBody: string(r.RequestBody), ResponseBody: string(r.ResponseBody),
	})
}

// UnmarshalJSON reads what MarshalJSON writes (overhead at microsecond
// precision).
func (r *Record) UnmarshalJSON(b []byte) error {
	var j recordJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Record{
		RequestID: j.RequestID, Time: j.Time.UTC(),
		KeyID: j.KeyID, KeyName: j.KeyName, Team: j.Team, Tags: j.Tags,
		EndUser: j.EndUser, ClientIP: j.ClientIP, UserAgent: j.UserAgent,
		Route: j.Route, Format: j.Format, Model: j.Model, Provider: j.Provider,
		UpstreamModel: j.UpstreamModel, Stream: j.Stream,
		Status: j.Status, ErrorCode: j.ErrorCode, Attempts: j.Attempts, Fallback: j.Fallback,
		Latency: fromMillis(j.LatencyMS), TTFT: fromMillis(j.TTFTMS), UpstreamTime: fromMillis(j.UpstreamMS),
		Overhead:     time.Duration(j.OverheadUS) * time.Microsecond,
		PromptTokens: j.PromptTokens, CompletionTokens: j.CompletionTokens, CachedTokens: j.CachedTokens,
		CacheWriteTokens: j.CacheWriteTokens, ReasoningTokens: j.ReasoningTokens,
		TokensEstimated: j.TokensEstimated, CostUSD: j.CostUSD,
		Guardrails: j.Guardrails, RateLimit: j.RateLimit,
	}
	if j.RequestBody != "" {
		r.RequestBody = []byte(j.RequestBody)
	}
	if j.ResponseBody != "" {
		r.ResponseBody = []byte(j.ResponseBody)
	}
	return nil
}

// ownSlices replaces r's slices by copies, so the caller may reuse its
// buffers. Strings are immutable and the tag map is documented as such.
func (r *Record) ownSlices() {
	if r.Guardrails != nil {
		r.Guardrails = slices.Clone(r.Guardrails)
	}
	if r.RequestBody != nil {
		r.RequestBody = slices.Clone(r.RequestBody)
	}
	if r.ResponseBody != nil {
		r.ResponseBody = slices.Clone(r.ResponseBody)
	}
}
