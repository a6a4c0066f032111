package config

import (
	"fmt"
	"strings"
)

// ApplyDefaults sets every field that is zero and has a default (see the
// Default* constants and each field's doc) to that default. Load does this
// itself; call it on a Config built in code, before Validate.
//
// Besides the constants: a target's model defaults to its public model's
// name, its weight to 1, the passthrough provider to the first provider of
// kind openai, and trailing slashes are trimmed from base URLs. A static
// key's id defaults to StaticKeyID of its key, its budget_period to total
// when it has a budget.
func (c *Config) ApplyDefaults() { applyDefaults(c, nil) }

// applyDefaults is ApplyDefaults for the loader, which knows which scalars
// the file set explicitly: an explicit "weight: 0" disables a target, while
// an absent weight means 1.
func applyDefaults(c *Config, explicit func(path string) bool) {
	if explicit == nil {
		explicit = func(string) bool { return false }
	}
	s := &c.Server
	setDefault(&s.Listen, DefaultListen)
	setDefault(&s.MaxRequestBody, DefaultMaxRequestBody)
	setDefault(&s.MaxHeaderBytes, DefaultMaxHeaderBytes)
	setDefault(&s.ReadTimeout, Duration(DefaultReadTimeout))
	setDefault(&s.WriteTimeout, Duration(DefaultWriteTimeout))
	setDefault(&s.IdleTimeout, Duration(DefaultIdleTimeout))
	setDefault(&s.ShutdownGrace, Duration(DefaultShutdownGrace))
	applyOverloadDefaults(s, explicit)
	setDefault(&c.DataDir, DefaultDataDir)
	setDefault(&c.Log.Level, DefaultLogLevel)
	setDefault(&c.Log.Format, DefaultLogFormat)
	applyAuthDefaults(&c.Auth)
	applyLimitsDefaults(c)
	applyGuardDefaults(&c.Guardrails)
	applyTelemetryDefaults(c)
	applyTracingDefaults(&c.Tracing)

	for i := range c.Providers {
		p := &c.Providers[i]
		// A {key: ${VAR}} entry whose variable is empty is not configured,
		// like a plain entry that expands to "".
		keys := p.APIKeys[:0]
		for _, k := range p.APIKeys {
			if k.Key != "" {
				keys = append(keys, k)
			}
		}
		p.APIKeys = keys
		p.BaseURL = strings.TrimRight(p.BaseURL, "/")
		if p.Kind == KindAnthropic {
			setDefault(&p.AnthropicVersion, DefaultAnthropicVersion)
		}
		if p.Kind == KindBedrock && p.Region != "" {
			setDefault(&p.BaseURL, "https://bedrock-runtime."+p.Region+".amazonaws.com")
		}
		setDefault(&p.MaxConns, DefaultMaxConns)
		setDefault(&p.Timeouts.Connect, Duration(DefaultConnectTimeout))
		setDefault(&p.Timeouts.FirstByte, Duration(DefaultFirstByteTimeout))
		setDefault(&p.Timeouts.Idle, Duration(DefaultIdleReadTimeout))
		setDefault(&p.Timeouts.Total, Duration(DefaultTotalTimeout))
	}
	for i := range c.Models {
		m := &c.Models[i]
		_, pattern := ModelPattern(m.Name)
		for j := range m.Targets {
			t := &m.Targets[j]
			if !pattern { // a pattern's target without a model forwards the requested name
				setDefault(&t.Model, m.Name)
			}
			if t.Weight == 0 && !explicit(fmt.Sprintf("models[%d].targets[%d].weight", i, j)) {
				t.Weight = 1
			}
		}
	}
	applyRoutingDefaults(c)
	if c.Passthrough.Provider == "" {
		for _, p := range c.Providers {
			if p.Kind == KindOpenAI && p.Name != "" {
				c.Passthrough.Provider = p.Name
				break
			}
		}
	}
}

// setDefault sets *v to def when *v is the zero value.
func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// applyOverloadDefaults derives the overload caps from the machine where the
// file does not set them; an explicit 0 turns each off.
func applyOverloadDefaults(s *Server, explicit func(path string) bool) {
	if s.MemoryLimit == 0 && !explicit("server.memory_limit") {
		s.MemoryLimit = DefaultMemoryLimit()
	}
	if s.MaxInFlight == 0 && !explicit("server.max_in_flight") {
		s.MaxInFlight = DefaultMaxInFlight(s.MemoryLimit)
	}
	if s.MaxStreams == 0 && !explicit("server.max_streams") && s.MaxInFlight > 0 {
		s.MaxStreams = DefaultMaxStreams(s.MaxInFlight)
	}
	if s.ShedLatency == 0 && !explicit("server.shed_latency") {
		s.ShedLatency = Duration(DefaultShedLatency)
	}
}
