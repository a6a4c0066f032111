// Package config holds Sluice's typed configuration tree and loads it from
// YAML.
//
// A Config is built once by Load (parse, ${VAR} expansion, defaults,
// validation) and is immutable afterwards: a reload builds a new Config and
// swaps it in whole. Load reports every problem it finds at once, each with
// the file position it came from, so an operator fixes a config in one pass.
// Secrets (provider keys, the admin token) are of type Secret and redact
// themselves wherever they are printed, logged or marshalled.
package config

import "time"

// Provider kinds. A provider's kind fixes the wire format Sluice speaks to it.
const (
	KindOpenAI    = "openai"    // any OpenAI-compatible upstream (Bearer auth)
	KindAzure     = "azure"     // Azure OpenAI (deployments, api-version, api-key)
	KindAnthropic = "anthropic" // Anthropic Messages API (x-api-key, anthropic-version)
	KindGemini    = "gemini"    // Gemini API (x-goog-api-key)
	KindBedrock   = "bedrock"   // Amazon Bedrock Converse (SigV4)
)

// Kinds lists the provider kinds, as config check names them.
var Kinds = []string{KindOpenAI, KindAzure, KindAnthropic, KindGemini, KindBedrock}

// Config is the whole configuration of one Sluice process.
type Config struct {
	// Server configures the client-facing listener and its limits.
	Server Server `yaml:"server"`
	// Admin configures the admin API.
	Admin Admin `yaml:"admin"`
	// Metrics configures GET /metrics. Zero value: served to anyone who
	// can reach the listener.
	Metrics Metrics `yaml:"metrics"`
	// Log configures structured logging.
	Log Log `yaml:"log"`
	// DataDir holds SQLite files and the telemetry spool. Default "./data".
	DataDir string `yaml:"data_dir"`
	// Mock, when its Listen is set, runs the built-in mock LLM server in the
	// same process (the quick start uses this). Zero value: no mock.
	Mock Mock `yaml:"mock"`
	// Providers are the upstreams Sluice can send requests to.
	Providers []Provider `yaml:"providers"`
	// Models are the public model names clients may request.
	Models []Model `yaml:"models"`
	// Passthrough configures where /v1/* paths that Sluice does not know go.
	Passthrough Passthrough `yaml:"passthrough"`
	// Routing sets retries, the retry budget and the circuit breaker for
	// every model.
	Routing Routing `yaml:"routing"`
	// Storage names the shared engines used when Sluice outgrows one
	// machine. Zero value: SQLite under DataDir and in-memory limits.
	Storage Storage `yaml:"storage"`
	// Auth configures virtual keys. Zero value: no authentication (tier L0).
	Auth Auth `yaml:"auth"`
	// Limits configures rate limits and budgets: defaults for keys, the
	// default token reservation and the Redis backend. Zero value: keys
	// without limits are unlimited; limit state in memory (or in Redis
	// when storage.redis_url is set).
	Limits Limits `yaml:"limits"`
	// Pricing maps a public model name, or an upstream model name, to its
	// price; budgets are charged from it. A model without a price costs 0.
	Pricing map[string]Price `yaml:"pricing"`
	// Guardrails are the rule sets models and keys apply to request and
	// response text. Zero value: none.
	Guardrails Guardrails `yaml:"guardrails"`
	// Telemetry configures request logging. Zero value: off.
	Telemetry Telemetry `yaml:"telemetry"`
	// Tracing exports OpenTelemetry spans of sampled requests. Zero value:
	// off.
	Tracing Tracing `yaml:"tracing"`
}

// Server configures the data-plane listener. Zero values mean the defaults
// given on each field.
type Server struct {
	// Listen is host:port. Default "127.0.0.1:8080".
	Listen string `yaml:"listen"`
	// TLS, when both files are set, serves HTTPS on Listen.
	TLS TLS `yaml:"tls"`
	// MaxRequestBody is the largest request body accepted; larger bodies get
	// 413 without being read into memory. Default 32MiB.
	MaxRequestBody ByteSize `yaml:"max_request_body"`
	// MaxHeaderBytes bounds the request line plus headers; it is also the
	// read buffer held by every client connection. Default 8KiB (nginx's
	// large_client_header_buffers size).
	MaxHeaderBytes ByteSize `yaml:"max_header_bytes"`
	// ReadTimeout bounds reading one whole request (headers and body) from a
	// client, against slow clients. Default 60s.
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds each write to a client (per flushed stream event for
	// streams), against clients that stop reading. Default 60s.
	WriteTimeout Duration `yaml:"write_timeout"`
	// IdleTimeout closes keep-alive connections idle this long. Default 120s.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// ShutdownGrace is how long in-flight requests and streams may run after
	// SIGTERM/SIGINT before the process exits anyway. Default 30s.
	ShutdownGrace Duration `yaml:"shutdown_grace"`
	// MaxInFlight bounds concurrent requests on client routes; beyond it
	// Sluice sheds load with 503 overloaded at once, and the last tenth is
	// kept for keys of priority high. Absent: derived from the machine
	// (DefaultMaxInFlight); 0: unbounded.
	MaxInFlight int `yaml:"max_in_flight"`
	// MaxStreams bounds the streamed replies open at once, so that long
	// streams cannot take every slot from short requests; beyond it new
	// streams get 503 overloaded (the last tenth kept for priority high).
	// Absent: three quarters of max_in_flight; 0: unbounded.
	MaxStreams int `yaml:"max_streams"`
	// MemoryLimit is the soft memory ceiling: the Go runtime's memory limit
	// (GOMEMLIMIT) is set to it, and new requests are shed while the
	// process holds more than 90% of it (priority high: 100%). Absent:
	// GOMEMLIMIT when that is set, else DefaultMemoryLimit; 0: none.
	MemoryLimit ByteSize `yaml:"memory_limit"`
	// ShedLatency is the CPU overload signal: while the process uses all
	// its CPUs and goroutines wait longer than this to run (p99 of each
	// 100 ms), a growing share of new requests is shed with 503, high
	// priority last. Absent: DefaultShedLatency; 0: off.
	ShedLatency Duration `yaml:"shed_latency"`
	// MaxConnsPerClient bounds the connections one client address may hold
	// open; a connection past it is answered 429 and closed. Loopback peers
	// are exempt; behind trusted_proxies the forwarded client's requests in
	// flight are counted instead. Default 0: off. Needs a restart.
	MaxConnsPerClient int `yaml:"max_conns_per_client"`
	// ShutdownDelay is how long /readyz reports not ready before the listener
	// closes, so load balancers stop sending traffic first. Default 0s.
	ShutdownDelay Duration `yaml:"shutdown_delay"`
	// WatchConfig reloads the config file when its content changes (checked
	// every second), as SIGHUP and POST /admin/v1/reload do. Default false.
	WatchConfig bool `yaml:"watch_config"`
	// TrustedProxies are the addresses (IPs or CIDR ranges) of load
	// balancers and proxies in front of Sluice whose X-Forwarded-For is
	// believed: a request from one of them is attributed to the client
	// address it names (the rightmost entry that is not itself a trusted
	// proxy). Used to throttle failed admin authentications per client.
	// Empty: X-Forwarded-For is ignored and the peer address counts.
	TrustedProxies []IPRange `yaml:"trusted_proxies"`
}

// TLS is a certificate/key pair in PEM files.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Admin configures the admin API.
type Admin struct {
	// Token is the bearer token of the admin API. Empty: admin API off.
	// When the admin API listens beyond loopback (admin.listen, or
	// server.listen when that is empty, on a host other than localhost,
	// 127.0.0.0/8 or ::1) it must be at least MinAdminTokenLen characters.
	Token Secret `yaml:"token"`
	// Listen is host:port of a separate listener for the admin API (and
	// /healthz and /readyz). Empty: the admin API is served on the client
	// listener, Server.Listen.
	Listen string `yaml:"listen"`
}

// Metrics configures the Prometheus endpoint, GET /metrics.
type Metrics struct {
	// Token, when set, is a bearer token GET /metrics requires
	// (Authorization: Bearer <token>; a scraper sends it with its
	// authorization or bearer_token_file setting); a missing or wrong one
	// gets 401. Empty (the default): /metrics is open to anyone who can
	// reach the listener. Series carry key ids, model and provider names
	// and traffic volumes, never secrets; require a token when the
	// listener is reachable by clients who should not see those.
	Token Secret `yaml:"token"`
}

// Log configures log/slog output on stderr.
type Log struct {
	// Level is debug, info, warn or error. Default info. At debug, one access
	// line is logged per request.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
}

// Mock configures the in-process mock LLM server.
type Mock struct {
	// Listen is host:port for the mock. Empty: no mock.
	Listen string `yaml:"listen"`
}

// Passthrough configures unknown /v1/* paths.
type Passthrough struct {
	// Provider receives /v1/* paths Sluice has no route of its own for.
	// Default: the first provider of kind openai. It must be of kind openai.
	Provider string `yaml:"provider"`
	// AllowUnchecked, when guardrails are configured, lets through the
	// passthrough paths known to carry model text that guardrails cannot
	// check (stored responses and chat completions, batches, threads,
	// conversations, file contents, Anthropic message batches). Default
	// false: with guardrails on, those paths are refused.
	AllowUnchecked bool `yaml:"allow_unchecked"`
}

// Provider is one upstream API endpoint and its credentials.
type Provider struct {
	// Name identifies the provider in targets, logs and metrics. Required.
	Name string `yaml:"name"`
	// Kind is openai, azure, anthropic, gemini or bedrock (Kinds).
	// Required.
	Kind string `yaml:"kind"`
	// BaseURL is where the provider's API is. For openai and anthropic, the
	// API root including its version prefix, as their SDKs take it
	// ("https://api.openai.com/v1", "https://api.anthropic.com/v1"): the
	// client path after /v1 is appended to it. For azure, the resource
	// root ("https://NAME.openai.azure.com"), below which Sluice calls
	// /openai/deployments/{deployment}/...; for gemini, the API's root
	// ("https://generativelanguage.googleapis.com"), below which it calls
	// /v1beta/models/{model}:...; for bedrock, the runtime endpoint
	// (default "https://bedrock-runtime.{region}.amazonaws.com"), below
	// which it calls /model/{modelId}/converse. Required but for bedrock.
	BaseURL string `yaml:"base_url"`
	// APIKeys are the provider's own keys, used in turn (by weight). An
	// entry is a plain string or {key, weight}. Entries that expand to ""
	// are dropped; no keys means requests go upstream without one.
	APIKeys []APIKey `yaml:"api_keys"`
	// AnthropicVersion is sent as anthropic-version when the client sent none
	// (kind anthropic only). Default "2023-06-01".
	AnthropicVersion string `yaml:"anthropic_version"`
	// APIVersion is Azure OpenAI's api-version query parameter (kind azure
	// only, required there), e.g. "2024-10-21".
	APIVersion string `yaml:"api_version"`
	// Region is the AWS region of a bedrock provider (required there); it
	// names the default base_url and is part of every request's signature.
	Region string `yaml:"region"`
	// AccessKeyID, SecretAccessKey and SessionToken are the AWS credentials
	// a bedrock provider signs with (SigV4). When access_key_id and
	// secret_access_key are both empty, Sluice reads AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from its environment at
	// start; it never asks the instance metadata service or any other
	// network source.
	AccessKeyID     Secret `yaml:"access_key_id"`
	SecretAccessKey Secret `yaml:"secret_access_key"`
	SessionToken    Secret `yaml:"session_token"`
	// IncludeUsage controls whether Sluice adds stream_options.include_usage
	// to streamed OpenAI requests that did not ask for it (and hides the extra
	// usage chunk from the client). Default true; set false for upstreams
	// that reject stream_options.
	IncludeUsage *bool `yaml:"include_usage"`
	// Headers narrows which client headers are forwarded.
	Headers HeaderPolicy `yaml:"headers"`
	// Timeouts bound each upstream request.
	Timeouts Timeouts `yaml:"timeouts"`
	// CAFile is a PEM bundle trusted in addition to the system roots.
	CAFile string `yaml:"ca_file"`
	// Proxy is an http:// proxy URL for outbound requests. Default: the
	// HTTPS_PROXY (https base URLs) or HTTP_PROXY (http) environment
	// variable, honouring NO_PROXY.
	Proxy string `yaml:"proxy"`
	// MaxConns bounds open connections to this provider. Default 4096.
	MaxConns int `yaml:"max_conns"`
	// Limits bound the traffic all keys together send to each upstream
	// model of this provider (an upstream quota). Zero: unlimited.
	Limits ProviderLimits `yaml:"limits"`
}

// APIKey is one of a provider's own keys. In YAML it is either the key
// itself or a mapping {key: ..., weight: N}.
type APIKey struct {
	Key Secret `yaml:"key"`
	// Weight is the key's share of requests. Default 1; 0 takes requests
	// only when every other key is set aside.
	Weight *int `yaml:"weight"`
}

// UnmarshalText decodes the plain-string form.
func (k *APIKey) UnmarshalText(b []byte) error {
	k.Key = Secret(b)
	return nil
}

// KeyWeight is the key's weight with its default applied.
func (k APIKey) KeyWeight() int {
	if k.Weight == nil {
		return 1
	}
	return *k.Weight
}

// HeaderPolicy narrows header forwarding. Hop-by-hop headers, credentials
// and x-sluice-* are never forwarded whatever this says.
type HeaderPolicy struct {
	// Allow, when non-empty, forwards only these client headers
	// (case-insensitive names).
	Allow []string `yaml:"allow"`
	// Deny drops these client headers (case-insensitive names).
	Deny []string `yaml:"deny"`
}

// Timeouts bound an upstream request. Zero values mean the defaults.
type Timeouts struct {
	// Connect bounds dialing (and the TLS handshake). Default 5s.
	Connect Duration `yaml:"connect"`
	// FirstByte bounds the wait for the upstream's response headers after
	// the request is sent. Default 300s.
	FirstByte Duration `yaml:"first_byte"`
	// Idle bounds the gap between two reads of a response body (between
	// stream events). Default 120s.
	Idle Duration `yaml:"idle"`
	// Total bounds the whole upstream exchange. Default 600s.
	Total Duration `yaml:"total"`
}

// Model is one public model name and where it goes.
type Model struct {
	// Name is what clients send as "model". Required, unique. A name
	// ending in '*' is a pattern (pattern.go): it serves every requested
	// name with that prefix that no exact name or "provider/model" claims,
	// the longest prefix winning; GET /v1/models does not list it.
	Name string `yaml:"name"`
	// Targets are the upstream models serving this name. At least one, at
	// most 64.
	Targets []Target `yaml:"targets"`
	// Strategy picks among the targets: weighted (default), least-busy or
	// latency (power of two choices over time to first byte).
	Strategy string `yaml:"strategy"`
	// Fallbacks are public models of the same API format tried in order
	// when no target of this one could serve the request (every attempt
	// failed with a retry trigger, or every target is cooling down).
	Fallbacks []string `yaml:"fallbacks"`
	// Retry overrides routing.retry for this model.
	Retry *Retry `yaml:"retry"`
	// Timeouts override the providers' timeouts for this model's targets;
	// zero fields keep the provider's.
	Timeouts Timeouts `yaml:"timeouts"`
	// Guardrails names the guardrail sets applied to this model's requests
	// and replies. Empty: none.
	Guardrails []string `yaml:"guardrails"`
}

// Target is one upstream model at one provider.
type Target struct {
	// Provider names an entry of Providers. Required.
	Provider string `yaml:"provider"`
	// Model is the upstream model name. Default: the public model's name;
	// for a pattern model, the name the client requested.
	Model string `yaml:"model"`
	// Name identifies the target in x-sluice-target, logs and metrics.
	// Default "provider/model"; unique within its model.
	Name string `yaml:"name"`
	// Timeouts override the model's and the provider's; zero fields keep
	// them.
	Timeouts Timeouts `yaml:"timeouts"`
	// Weight is the share of traffic for weighted selection, 0 to 1000000.
	// Default 1 when absent; an explicit "weight: 0" in YAML keeps the target
	// listed but never selected (a model needs one positive weight).
	Weight int `yaml:"weight"`
}

// Defaults, applied by Load to zero values.
const (
	DefaultListen           = "127.0.0.1:8080"
	DefaultDataDir          = "./data"
	DefaultMaxRequestBody   = 32 << 20
	DefaultMaxHeaderBytes   = 8 << 10
	DefaultReadTimeout      = 60 * time.Second
	DefaultWriteTimeout     = 60 * time.Second
	DefaultIdleTimeout      = 120 * time.Second
	DefaultShutdownGrace    = 30 * time.Second
	DefaultShedLatency      = 20 * time.Millisecond
	DefaultConnectTimeout   = 5 * time.Second
	DefaultFirstByteTimeout = 300 * time.Second
	DefaultIdleReadTimeout  = 120 * time.Second
	DefaultTotalTimeout     = 600 * time.Second
	DefaultAnthropicVersion = "2023-06-01"
	DefaultMaxConns         = 4096
	DefaultLogLevel         = "info"
	DefaultLogFormat        = "text"
	DefaultSyncInterval     = time.Second
	// MinAdminTokenLen is the shortest admin token accepted when the admin
	// API listens beyond loopback.
	MinAdminTokenLen = 24
)

// UsageInjection reports whether Sluice may add stream_options.include_usage
// for this provider.
func (p *Provider) UsageInjection() bool { return p.IncludeUsage == nil || *p.IncludeUsage }
