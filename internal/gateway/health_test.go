package gateway

import (
	"errors"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider"
)

func TestAttemptHealth(t *testing.T) {
	ue := func(kind string) *provider.UpstreamError {
		return &provider.UpstreamError{Kind: kind, Err: errors.New(kind)}
	}
	for _, tc := range []struct {
		name     string
		ue       *provider.UpstreamError
		status   int
		otherKey bool
		want     health
	}{
		{name: "200", status: 200, want: healthOK},
		{name: "connect error", ue: ue(provider.KindConnect), want: healthFailed},
		{name: "first-byte timeout", ue: ue(provider.KindTimeout), want: healthFailed},
		{name: "reset before a reply", ue: ue(provider.KindReset), want: healthFailed},
		{name: "malformed reply", ue: ue(provider.KindMalformed), want: healthFailed},
		{name: "max_conns reached (Sluice shed it)", ue: ue(provider.KindNoConns), want: healthNone},
		{name: "client went away (499)", ue: ue(provider.KindCancelled), want: healthNone},
		{name: "500", status: 500, want: healthFailed},
		{name: "503", status: 503, want: healthFailed},
		{name: "429, the provider's last key", status: 429, want: healthFailed},
		{name: "429, another key in service", status: 429, otherKey: true, want: healthNone},
		{name: "401, the provider's last key", status: 401, want: healthFailed},
		{name: "401, another key in service", status: 401, otherKey: true, want: healthNone},
		{name: "400", status: 400, want: healthNone},
		{name: "403", status: 403, want: healthNone},
		{name: "404", status: 404, want: healthNone},
		{name: "408", status: 408, want: healthNone},
		{name: "413", status: 413, want: healthNone},
		{name: "422", status: 422, want: healthNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := attemptHealth(tc.ue, tc.status, tc.otherKey); got != tc.want {
				t.Fatalf("attemptHealth = %d, want %d", got, tc.want)
			}
		})
	}
}
