package main

import (
	"time"

	"github.com/sluice-gw/sluice/internal/harness"
)

const (
	adminToken = "soak-admin-token"
	loadKey    = "sk-soak-load" // limits far above any load

	// errorModel has its own target, so its own circuit breaker: the
	// upstream-error fault never makes the healthy model cool down.
	errorModel = "soak-error"

	// Request logging, written out in the config (the defaults).
	flushInterval = 100 * time.Millisecond
	sinkTimeout   = 2 * time.Second
)

// errorFirstByte is errorModel's first_byte timeout.
const errorFirstByte = time.Second

// writeConfig writes the instances' config of generation gen to path
// (harness.GatewayConfig): the reload fault rewrites it. The routing
// defaults stay (no retry section, unlike the chaos suite's).
func writeConfig(path string, gen int) error { return gatewayConfig().Write(path, gen) }

// gatewayConfig is what writeConfig writes.
func gatewayConfig() harness.GatewayConfig {
	return harness.GatewayConfig{
		Tool:           "soak",
		LoadKey:        loadKey,
		FlushInterval:  flushInterval,
		SinkTimeout:    sinkTimeout,
		FaultModels:    []string{errorModel},
		FaultFirstByte: errorFirstByte,
	}
}
