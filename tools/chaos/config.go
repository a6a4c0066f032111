package main

import (
	"fmt"
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

// The suite's settings that its bounds are computed from; the config
// file below spells the same values.
const (
	adminToken = "chaos-admin-token"
	loadKey    = "sk-chaos-load" // limits far above the load

	rpmLimit = 10 // rpm of the three limit keys

	// The fault models' first_byte timeout and the retry policy (the
	// routing defaults: 2 retries, backoff 100 ms doubling, at most 2 s).
	faultFirstByte = time.Second
	retryAttempts  = 2
	retryBackoff   = 100 * time.Millisecond
	retryMaxBack   = 2 * time.Second

	// Request logging (the defaults, written out).
	flushInterval = 100 * time.Millisecond
	sinkTimeout   = 2 * time.Second
)

// Keys with rpm 10 for the Redis scenario: before the kill, while Redis
// is down, after its restart (fresh buckets each).
var rpmKeys = map[string]string{
	"up":   "sk-chaos-rpm-up",
	"down": "sk-chaos-rpm-down",
	"back": "sk-chaos-rpm-back",
}

// Public models served by the mock: gpt-4o-mini is healthy; each
// chaos-* model has its own target and so its own circuit breaker, so one
// fault's breaker never refuses another's traffic.
var faultModels = []string{"chaos-error", "chaos-drop", "chaos-malformed", "chaos-hang", "chaos-stream"}

// writeConfig writes the instances' config of generation gen to path
// (harness.GatewayConfig): the sc_reload scenario rewrites it for every
// reload.
func writeConfig(path string, gen int) error { return gatewayConfig().Write(path, gen) }

// gatewayConfig is what writeConfig writes.
func gatewayConfig() harness.GatewayConfig {
	return harness.GatewayConfig{
		Tool:    "chaos",
		LoadKey: loadKey,
		Keys: []string{
			fmt.Sprintf("{key: %s, id: chaos-rpm-up, name: rpm up, rpm: %d}", rpmKeys["up"], rpmLimit),
			fmt.Sprintf("{key: %s, id: chaos-rpm-down, name: rpm down, rpm: %d}", rpmKeys["down"], rpmLimit),
			fmt.Sprintf("{key: %s, id: chaos-rpm-back, name: rpm back, rpm: %d}", rpmKeys["back"], rpmLimit),
		},
		Retry:          &harness.Retry{Attempts: retryAttempts, Backoff: retryBackoff, MaxBackoff: retryMaxBack},
		FlushInterval:  flushInterval,
		SinkTimeout:    sinkTimeout,
		FaultModels:    faultModels,
		FaultFirstByte: faultFirstByte,
	}
}
