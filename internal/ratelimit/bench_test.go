package ratelimit

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// benchLimiter is a memory limiter on the real clock with limits that
// never refuse, so that every iteration takes the full admission path.
func benchLimiter(b *testing.B) *Limiter {
	b.Helper()
	l, err := New(testConfig(1_000_000_000, 1_000_000_000_000), Deps{Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}

var benchKey = Key{ID: "bench-0001", RPM: 1_000_000_000, TPM: 1_000_000_000_000, MaxConcurrent: 1_000_000, BudgetUSD: 1e12, BudgetPeriod: "month"}

// BenchmarkAdmit is stage 3 for a known key: requests bucket and a
// concurrency slot, then the slot's release.
func BenchmarkAdmit(b *testing.B) {
	l := benchLimiter(b)
	k := benchKey
	var tk Ticket
	b.ReportAllocs()
	for b.Loop() {
		tk.Reset()
		if d := l.Admit(&tk, &k); !d.Allowed {
			b.Fatal(d)
		}
		tk.Release()
	}
}

// BenchmarkAdmitOnly is the admission decision alone (no release): one
// lock, one map lookup, one GCRA step.
func BenchmarkAdmitOnly(b *testing.B) {
	l := benchLimiter(b)
	k := benchKey
	k.MaxConcurrent = 0
	var tk Ticket
	b.ReportAllocs()
	for b.Loop() {
		tk.Reset()
		if d := l.Admit(&tk, &k); !d.Allowed {
			b.Fatal(d)
		}
	}
}

// BenchmarkRequest is a whole request's limit work: Admit, Reserve (key
// tokens, a per-model limit, the budget), AdmitTarget and Settle (with
// pricing and spend).
func BenchmarkRequest(b *testing.B) {
	l := benchLimiter(b)
	k := benchKey
	ml := ModelLimit{RPM: 1_000_000_000, TPM: 1_000_000_000_000}
	var tk Ticket
	b.ReportAllocs()
	for b.Loop() {
		tk.Reset()
		l.Admit(&tk, &k)
		l.Reserve(&tk, "gpt-4o-mini", ml, l.Estimate(300, 256))
		l.AdmitTarget(&tk, "openai", "gpt-4o-mini", 400)
		tk.Settle(Usage{Input: 60, Output: 16})
	}
}

// BenchmarkRequestGoverned is BenchmarkRequest for a key in a team with
// rpm, tpm, concurrency and a budget, and end-user limits (rates and a
// budget) on the key: the work team and end-user checks add.
func BenchmarkRequestGoverned(b *testing.B) {
	l := benchLimiter(b)
	k := benchKey
	eu := EndUserLimits{RPM: 1_000_000_000, TPM: 1_000_000_000_000, BudgetUSD: 1e12, BudgetPeriod: "month"}
	k.EndUsers = eu
	k.Team = Team{ID: "team-1", SpendID: "team:team-1", RPM: 1_000_000_000, TPM: 1_000_000_000_000,
		MaxConcurrent: 1_000_000, BudgetUSD: 1e12, BudgetPeriod: "month"}
	ml := ModelLimit{RPM: 1_000_000_000, TPM: 1_000_000_000_000}
	var tk Ticket
	b.ReportAllocs()
	for b.Loop() {
		tk.Reset()
		l.Admit(&tk, &k)
		tk.SetEndUser("user-1234")
		l.Reserve(&tk, "gpt-4o-mini", ml, l.Estimate(300, 256))
		l.AdmitTarget(&tk, "openai", "gpt-4o-mini", 400)
		tk.Settle(Usage{Input: 60, Output: 16})
	}
}

// BenchmarkRequestTeam is BenchmarkRequest for a key in a team with an rpm
// and a budget: one team, no end users.
func BenchmarkRequestTeam(b *testing.B) {
	k := benchKey
	k.Team = Team{ID: "team-1", SpendID: "team:team-1", RPM: 1_000_000_000, BudgetUSD: 1e12, BudgetPeriod: "month"}
	benchRequest(b, &k, "")
}

// BenchmarkRequestEndUser is BenchmarkRequest with an end-user rpm and
// budget on the key, for a request with a user.
func BenchmarkRequestEndUser(b *testing.B) {
	k := benchKey
	k.EndUsers = EndUserLimits{RPM: 1_000_000_000, BudgetUSD: 1e12, BudgetPeriod: "month"}
	benchRequest(b, &k, "user-1234")
}

func benchRequest(b *testing.B, k *Key, user string) {
	l := benchLimiter(b)
	ml := ModelLimit{RPM: 1_000_000_000, TPM: 1_000_000_000_000}
	var tk Ticket
	b.ReportAllocs()
	for b.Loop() {
		tk.Reset()
		l.Admit(&tk, k)
		tk.SetEndUser(user)
		l.Reserve(&tk, "gpt-4o-mini", ml, l.Estimate(300, 256))
		l.AdmitTarget(&tk, "openai", "gpt-4o-mini", 400)
		tk.Settle(Usage{Input: 60, Output: 16})
	}
}

// BenchmarkAdmitParallel spreads 1,000 keys over the shards from every
// core.
func BenchmarkAdmitParallel(b *testing.B) {
	l := benchLimiter(b)
	keys := make([]Key, 1000)
	for i := range keys {
		keys[i] = benchKey
		keys[i].ID = "key-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var tk Ticket
		i := 0
		for pb.Next() {
			tk.Reset()
			l.Admit(&tk, &keys[i%len(keys)])
			tk.Release()
			i++
		}
	})
}

func TestAdmitDoesNotAllocate(t *testing.T) {
	clock := newClock()
	l := newTestLimiter(t, testConfig(1_000_000_000, 1_000_000_000_000), clock, nil)
	k := benchKey
	ml := ModelLimit{RPM: 1_000_000_000, TPM: 1_000_000_000_000}
	var tk Ticket
	run := func() {
		tk.Reset()
		l.Admit(&tk, &k)
		l.Reserve(&tk, "gpt-4o-mini", ml, 300)
		l.AdmitTarget(&tk, "openai", "gpt-4o-mini", 400)
		tk.Settle(Usage{Input: 60, Output: 16})
	}
	run() // create the scopes and the spend entry
	clock.Add(time.Second)
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("a request's limit work allocates %v times", n)
	}
}

// BenchmarkRedisAdmit is stage 3 against the Redis of SLUICE_TEST_REDIS:
// one script call (requests bucket and concurrency slot) per admission;
// the release goes through the batched settlement writer. It reports the
// round trips per admission.
func BenchmarkRedisAdmit(b *testing.B) {
	url, prefix := testRedis(b)
	l, _, _ := newRedisLimiter(b, redisConfig(url, prefix, "closed", time.Second))
	h := &roundTrips{}
	l.rds.client.AddHook(h)
	k := benchKey
	var tk Ticket
	b.ReportAllocs()
	var admits int64
	before := h.n.Load()
	for b.Loop() {
		tk.Reset()
		if d := l.Admit(&tk, &k); !d.Allowed {
			b.Fatal(d)
		}
		admits++
		tk.Release()
	}
	b.StopTimer()
	_ = l.Flush(context.Background())
	b.ReportMetric(float64(h.n.Load()-before)/float64(admits), "roundtrips/op")
}

// BenchmarkRedisAdmitOnly is the admission decision alone: one EVALSHA.
func BenchmarkRedisAdmitOnly(b *testing.B) {
	url, prefix := testRedis(b)
	l, _, _ := newRedisLimiter(b, redisConfig(url, prefix, "closed", time.Second))
	k := benchKey
	k.MaxConcurrent = 0
	var tk Ticket
	b.ReportAllocs()
	for b.Loop() {
		tk.Reset()
		if d := l.Admit(&tk, &k); !d.Allowed {
			b.Fatal(d)
		}
	}
}
