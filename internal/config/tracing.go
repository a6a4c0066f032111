package config

import (
	"maps"
	"math"
	"net/url"
	"slices"
)

// Tracing exports one OpenTelemetry span per sampled request (with a child
// span for the upstream exchange) over OTLP/HTTP. Zero value: off.
type Tracing struct {
	// Endpoint is the full URL of an OTLP/HTTP traces endpoint, such as
	// http://127.0.0.1:4318/v1/traces. Empty: tracing is off.
	Endpoint string `yaml:"endpoint"`
	// SampleRatio is the share of requests traced when the client sent no
	// sampled W3C traceparent (a request whose parent is sampled is always
	// traced, one whose parent is not never is). Default 0.01.
	SampleRatio *float64 `yaml:"sample_ratio"`
	// ServiceName is the service.name resource attribute. Default "sluice".
	ServiceName string `yaml:"service_name"`
	// Headers are sent with every export (an API key of the collector,
	// say); their values are secrets.
	Headers map[string]Secret `yaml:"headers"`
}

// Tracing defaults.
const (
	DefaultSampleRatio = 0.01
	DefaultServiceName = "sluice"
)

func applyTracingDefaults(t *Tracing) {
	if t.Endpoint == "" {
		return
	}
	if t.SampleRatio == nil {
		r := DefaultSampleRatio
		t.SampleRatio = &r
	}
	setDefault(&t.ServiceName, DefaultServiceName)
}

func (v *validator) tracing(t *Tracing) {
	if t.Endpoint == "" {
		return
	}
	u, err := url.Parse(t.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.errf("tracing.endpoint", "invalid URL %q: want the http(s) URL of an OTLP/HTTP traces endpoint, such as http://127.0.0.1:4318/v1/traces", t.Endpoint)
	}
	if r := t.SampleRatio; r != nil && (math.IsNaN(*r) || *r < 0 || *r > 1) {
		v.errf("tracing.sample_ratio", "must be between 0 and 1, got %v", *r)
	}
	for _, k := range slices.Sorted(maps.Keys(t.Headers)) {
		if k == "" || !printableASCII(k) {
			v.errf("tracing.headers", "invalid header name %q", k)
		}
	}
}
