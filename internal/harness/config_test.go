package harness

import (
	"slices"
	"testing"
	"time"
)

// TestGatewayConfig writes both parities of the generation, with and
// without a retry section, and checks that each parses, that consecutive
// generations differ (a reload must apply something), and that the file
// says what its fields say.
func TestGatewayConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		retry *Retry
	}{
		{"routing defaults", nil},
		{"retry", &Retry{Attempts: 3, Backoff: 50 * time.Millisecond, MaxBackoff: time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gc := GatewayConfig{Tool: "tool", LoadKey: "sk-tool-load", Keys: []string{"{key: sk-tool-x, id: tool-x, name: x, rpm: 7}"},
				Retry: tc.retry, FlushInterval: 300 * time.Millisecond, SinkTimeout: 3 * time.Second,
				FaultModels: []string{"tool-a", "tool-b"}, FaultFirstByte: 1500 * time.Millisecond}
			var hashes []string
			for gen := range 2 {
				c, h, err := gc.Load(t.TempDir(), gen)
				if err != nil {
					t.Fatal(err)
				}
				hashes = append(hashes, h)
				if c.Telemetry.Sink != "postgres" || c.Telemetry.FlushInterval.D() != gc.FlushInterval || c.Telemetry.SinkTimeout.D() != gc.SinkTimeout {
					t.Errorf("telemetry %q %v %v", c.Telemetry.Sink, c.Telemetry.FlushInterval, c.Telemetry.SinkTimeout)
				}
				if c.Limits.Redis.FailMode != "local" {
					t.Errorf("limits.redis.fail_mode %q", c.Limits.Redis.FailMode)
				}
				var keys []string
				for _, k := range c.Auth.Keys {
					keys = append(keys, k.Key.Reveal())
				}
				if want := []string{"sk-tool-load", "sk-tool-x", "sk-tool-reload"}; !slices.Equal(keys, want) {
					t.Errorf("keys %v, want %v", keys, want)
				}
				var models []string
				for _, m := range c.Models {
					models = append(models, m.Name)
					if m.Name == "tool-a" || m.Name == "tool-b" {
						if got := m.Timeouts.FirstByte.D(); got != gc.FaultFirstByte {
							t.Errorf("%s: first_byte %v, want %v", m.Name, got, gc.FaultFirstByte)
						}
					}
				}
				want := []string{"gpt-4o-mini", "tool-a", "tool-b"}
				if gen%2 == 1 {
					want = append(want, "tool-reload-extra")
				}
				if !slices.Equal(models, want) {
					t.Errorf("generation %d: models %v, want %v", gen, models, want)
				}
				if tc.retry != nil {
					r := c.Routing.Retry
					if *r.Attempts != tc.retry.Attempts || r.Backoff.D() != tc.retry.Backoff || r.MaxBackoff.D() != tc.retry.MaxBackoff {
						t.Errorf("routing.retry %d %v %v, want %+v", *r.Attempts, r.Backoff, r.MaxBackoff, *tc.retry)
					}
				} else {
					// The routing defaults (docs: 2 retries per target).
					if got := *c.Routing.Retry.Attempts; got != 2 {
						t.Errorf("routing.retry.attempts %d without a retry section, the default is 2", got)
					}
				}
			}
			if hashes[0] == hashes[1] {
				t.Error("two generations wrote the same file: a reload would change nothing")
			}
		})
	}
}
