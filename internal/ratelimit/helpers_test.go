package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-gw/sluice/internal/config"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(0, t0).UTC()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// testConfig returns a config with one provider "openai" (target limits
// rpm/tpm as given) and the given pricing.
func testConfig(targetRPM, targetTPM int64) *config.Config {
	c := &config.Config{
		Providers: []config.Provider{{Name: "openai", Kind: config.KindOpenAI, BaseURL: "http://127.0.0.1:9/v1",
			Limits: config.ProviderLimits{RPM: targetRPM, TPM: targetTPM}}},
		Models: []config.Model{{Name: "gpt-4o-mini", Targets: []config.Target{{Provider: "openai"}}}},
		Pricing: map[string]config.Price{
			"gpt-4o-mini": {Input: 1, Output: 2},       // $1 / $2 per million
			"upstream-m":  {Input: 1000, Output: 1000}, // priced only upstream
		},
	}
	c.ApplyDefaults()
	return c
}

// newTestLimiter builds a memory limiter on clock; it is closed when the
// test ends.
func newTestLimiter(t testing.TB, cfg *config.Config, clock *fakeClock, store SpendStore) *Limiter {
	t.Helper()
	deps := Deps{Now: clock.Now, Spend: store, Registerer: prometheus.NewRegistry()}
	l, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}

// memStore is an in-memory SpendStore: spend per key per UTC day.
type memStore struct {
	mu   sync.Mutex
	days map[string]map[int64]float64
	fail bool
	adds int
}

func newMemStore() *memStore { return &memStore{days: map[string]map[int64]float64{}} }

func (s *memStore) AddSpend(_ context.Context, id string, usd float64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errStoreDown
	}
	if s.days[id] == nil {
		s.days[id] = map[int64]float64{}
	}
	s.days[id][dayOf(at)] += usd
	s.adds++
	return nil
}

func (s *memStore) SpendSince(_ context.Context, since time.Time) (map[string]float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return nil, errStoreDown
	}
	from := int64(-1 << 62)
	if !since.IsZero() {
		from = dayOf(since)
	}
	out := map[string]float64{}
	for id, days := range s.days {
		for d, usd := range days {
			if d >= from {
				out[id] += usd
			}
		}
	}
	return out, nil
}

func (s *memStore) setFail(f bool) {
	s.mu.Lock()
	s.fail = f
	s.mu.Unlock()
}

type storeError string

func (e storeError) Error() string { return string(e) }

const errStoreDown = storeError("store down")
