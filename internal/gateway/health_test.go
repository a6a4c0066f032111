package gateway

import (
	"errors"
	"testing"

	"github.com/sluice-gw/sluice/internal/provider"
	"github.com/sluice-gw/sluice/internal/route"
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
		want     route.Health
	}{
		{name: "200", status: 200, want: route.HealthOK},
		{name: "connect error", ue: ue(provider.KindConnect), want: route.HealthFailed},
		{name: "first-byte timeout", ue: ue(provider.KindTimeout), want: route.HealthFailed},
		{name: "reset before a reply", ue: ue(provider.KindReset), want: route.HealthFailed},
		{name: "malformed reply", ue: ue(provider.KindMalformed), want: route.HealthFailed},
		{name: "max_conns reached (Sluice shed it)", ue: ue(provider.KindNoConns), want: route.HealthNone},
		{name: "client went away (499)", ue: ue(provider.KindCancelled), want: route.HealthNone},
		{name: "500", status: 500, want: route.HealthFailed},
		{name: "503", status: 503, want: route.HealthFailed},
		{name: "429, the provider's last key", status: 429, want: route.HealthFailed},
		{name: "429, another key in service", status: 429, otherKey: true, want: route.HealthNone},
		{name: "401, the provider's last key", status: 401, want: route.HealthFailed},
		{name: "401, another key in service", status: 401, otherKey: true, want: route.HealthNone},
		{name: "400", status: 400, want: route.HealthNone},
		{name: "403", status: 403, want: route.HealthNone},
		{name: "404", status: 404, want: route.HealthNone},
		{name: "408", status: 408, want: route.HealthNone},
		{name: "413", status: 413, want: route.HealthNone},
		{name: "422", status: 422, want: route.HealthNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := attemptHealth(tc.ue, tc.status, tc.otherKey); got != tc.want {
				t.Fatalf("attemptHealth = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestNoReply(t *testing.T) {
	for kind, want := range map[string]route.Failure{
		provider.KindConnect:   route.FailConnect,
		provider.KindReset:     route.FailConnect,
		provider.KindMalformed: route.FailConnect,
		provider.KindCancelled: route.FailConnect,
		provider.KindTimeout:   route.FailTimeout,
		provider.KindNoConns:   route.FailShed,
	} {
		if got := noReply(kind); got != want {
			t.Errorf("noReply(%q) = %d, want %d", kind, got, want)
		}
	}
}
