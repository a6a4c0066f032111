package ratelimit

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
)

// teamKeys returns n keys of one team with the given team limits.
func teamKeys(n int, tm Team) []*Key {
	if tm.SpendID == "" {
		tm.SpendID = "team:" + tm.ID
	}
	ks := make([]*Key, n)
	for i := range ks {
		ks[i] = &Key{ID: fmt.Sprintf("key-%d", i), Team: tm}
	}
	return ks
}

// limiters returns the limiters a test runs on: memory (one instance), and
// two instances on one Redis when a test Redis is configured.
func limiters(t *testing.T) map[string][]*Limiter {
	t.Helper()
	out := map[string][]*Limiter{"memory": {newTestLimiter(t, testConfig(0, 0), newClock(), nil)}}
	// Without a test Redis the memory cases still run (testRedis would
	// skip the whole test).
	if os.Getenv("SLUICE_TEST_REDIS") != "" || os.Getenv("SLUICE_TEST_REQUIRE_SERVICES") == "1" {
		url, prefix := testRedis(t)
		cfg := redisConfig(url, prefix, config.FailClosed, time.Second)
		a, _, _ := newRedisLimiter(t, cfg)
		b, _, _ := newRedisLimiter(t, cfg)
		out["redis-two-instances"] = []*Limiter{a, b}
	}
	return out
}

// TestTeamNPlusK: N + k rapid requests on a fresh team with rpm N get
// exactly k refusals, whichever keys and instances they use, and each
// refusal names the team.
func TestTeamNPlusK(t *testing.T) {
	for name, ls := range limiters(t) {
		t.Run(name, func(t *testing.T) {
			const n, k = 10, 4
			keys := teamKeys(3, Team{ID: "research-" + name, RPM: n})
			refused := 0
			for i := range n + k {
				l, key := ls[i%len(ls)], keys[i%len(keys)]
				var tk Ticket
				d := l.Admit(&tk, key)
				if !d.Allowed {
					refused++
					if d.Reason != ReasonRPM || d.Scope != ScopeTeam || d.Team != key.Team.ID || d.Limit != n {
						t.Errorf("refusal %+v: want rpm of team %s", d, key.Team.ID)
					}
					if msg := d.Message(); !strings.Contains(msg, `team "`+key.Team.ID+`"`) {
						t.Errorf("message %q does not name the team", msg)
					}
				}
				tk.Release()
			}
			if refused != k {
				t.Errorf("%d requests on a team of rpm %d: %d refused, want %d", n+k, n, refused, k)
			}
		})
	}
}

// TestTeamAndKeyLimits: a request must pass both; the refusal says which.
func TestTeamAndKeyLimits(t *testing.T) {
	l := newTestLimiter(t, testConfig(0, 0), newClock(), nil)
	tm := Team{ID: "t", SpendID: "team:t", RPM: 5}
	tight := &Key{ID: "tight", RPM: 2, Team: tm}
	loose := &Key{ID: "loose", Team: tm}
	var scopes []string
	for range 3 {
		var tk Ticket
		if d := l.Admit(&tk, tight); !d.Allowed {
			scopes = append(scopes, d.Scope)
		}
		tk.Release()
	}
	for range 4 {
		var tk Ticket
		if d := l.Admit(&tk, loose); !d.Allowed {
			scopes = append(scopes, d.Scope)
		}
		tk.Release()
	}
	// tight: 2 admitted, 1 refused by the key; the team has 3 left: loose
	// gets 3, the 4th is refused by the team.
	if got := strings.Join(scopes, ","); got != ScopeKey+","+ScopeTeam {
		t.Errorf("refusals by %q, want key then team", got)
	}
}

// TestTeamConcurrency: the team's max_concurrent is shared by its keys and
// its slots come back at settle.
func TestTeamConcurrency(t *testing.T) {
	for name, ls := range limiters(t) {
		t.Run(name, func(t *testing.T) {
			keys := teamKeys(2, Team{ID: "conc-" + name, MaxConcurrent: 2})
			var t1, t2, t3 Ticket
			if !ls[0].Admit(&t1, keys[0]).Allowed || !ls[len(ls)-1].Admit(&t2, keys[1]).Allowed {
				t.Fatal("the first two slots were refused")
			}
			if d := ls[0].Admit(&t3, keys[1]); d.Allowed || d.Reason != ReasonConcurrency || d.Scope != ScopeTeam {
				t.Fatalf("a third request: %+v, want the team's concurrency", d)
			}
			t3.Release()
			t1.Release()
			for _, l := range ls {
				if err := l.Flush(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			var t4 Ticket
			if d := ls[len(ls)-1].Admit(&t4, keys[1]); !d.Allowed {
				t.Errorf("after a release: %+v", d)
			}
			t4.Release()
			t2.Release()
		})
	}
}

// TestTeamTokens: the team's tpm is reserved and reconciled like a key's.
func TestTeamTokens(t *testing.T) {
	for name, ls := range limiters(t) {
		t.Run(name, func(t *testing.T) {
			keys := teamKeys(2, Team{ID: "tok-" + name, TPM: 1000})
			var a Ticket
			ls[0].Admit(&a, keys[0])
			if d := ls[0].Reserve(&a, "m", ModelLimit{}, 600); !d.Allowed {
				t.Fatalf("first reservation: %+v", d)
			}
			a.Settle(Usage{Input: 50, Output: 50}) // 500 of 600 come back
			for _, l := range ls {
				if err := l.Flush(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			l := ls[len(ls)-1]
			var b Ticket
			l.Admit(&b, keys[1])
			if d := l.Reserve(&b, "m", ModelLimit{}, 850); !d.Allowed {
				t.Errorf("850 of the 900 left: %+v", d)
			}
			var c Ticket
			l.Admit(&c, keys[0])
			if d := l.Reserve(&c, "m", ModelLimit{}, 100); d.Allowed || d.Reason != ReasonTPM || d.Scope != ScopeTeam {
				t.Errorf("100 more with 50 left: %+v, want the team's tpm", d)
			}
			b.Release()
			c.Release()
		})
	}
}

// TestTeamBudget: two keys spend a team's budget; the third request is
// refused with the team named, whichever key and instance it uses.
func TestTeamBudget(t *testing.T) {
	for name, ls := range limiters(t) {
		t.Run(name, func(t *testing.T) {
			keys := teamKeys(3, Team{ID: "budget-" + name, BudgetUSD: 1, BudgetPeriod: "day"})
			for i := range 2 {
				l := ls[i%len(ls)]
				var tk Ticket
				l.Admit(&tk, keys[i])
				if d := l.Reserve(&tk, "gpt-4o-mini", ModelLimit{}, 1); !d.Allowed {
					t.Fatalf("request %d: %+v", i, d)
				}
				tk.Settle(Usage{Output: 250_000}) // $0.50
			}
			for _, l := range ls {
				if err := l.Flush(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			l := ls[len(ls)-1]
			var tk Ticket
			l.Admit(&tk, keys[2])
			d := l.Reserve(&tk, "gpt-4o-mini", ModelLimit{}, 1)
			tk.Release()
			if d.Allowed || d.Reason != ReasonBudget || d.Scope != ScopeTeam || d.Team != keys[2].Team.ID {
				t.Fatalf("third request: %+v, want the team's budget", d)
			}
			if msg := d.Message(); !strings.Contains(msg, `team "`+keys[2].Team.ID+`"`) || !strings.Contains(msg, "$1.00") {
				t.Errorf("message %q: want the team and its budget", msg)
			}
			// The spend was recorded for the team and for each key.
			if s := l.book.spend("team:"+keys[2].Team.ID, periodDay, l.now()); name == "memory" && s < 1-budgetEpsilon {
				t.Errorf("team spend %v, want 1", s)
			}
			if sn := l.SnapshotTeam(context.Background(), &keys[0].Team); sn.SpendUSD < 1-budgetEpsilon || sn.RemainingUSD != 0 {
				t.Errorf("team snapshot %+v: want $1 spent, none left", sn)
			}
		})
	}
}

// TestEndUserBudget: an end user over their budget is refused while other
// end users of the same key are served; requests without a user are not
// limited per end user.
func TestEndUserBudget(t *testing.T) {
	for name, ls := range limiters(t) {
		t.Run(name, func(t *testing.T) {
			key := &Key{ID: "app-" + name, EndUsers: EndUserLimits{BudgetUSD: 0.5, BudgetPeriod: "month"}}
			req := func(l *Limiter, user string) Decision {
				var tk Ticket
				l.Admit(&tk, key)
				tk.SetEndUser(user)
				d := l.Reserve(&tk, "gpt-4o-mini", ModelLimit{}, 1)
				if d.Allowed {
					tk.Settle(Usage{Output: 250_000}) // $0.50
				} else {
					tk.Release()
				}
				for _, l := range ls {
					if err := l.Flush(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				return d
			}
			if d := req(ls[0], "mallory"); !d.Allowed {
				t.Fatalf("mallory's first request: %+v", d)
			}
			d := req(ls[len(ls)-1], "mallory")
			if d.Allowed || d.Reason != ReasonBudget || d.Scope != ScopeEndUser || d.Team != "" {
				t.Fatalf("mallory over budget: %+v, want the end user's budget", d)
			}
			if msg := d.Message(); !strings.Contains(msg, "this end user") {
				t.Errorf("message %q does not say it is the end user's budget", msg)
			}
			if d := req(ls[0], "alice"); !d.Allowed {
				t.Errorf("alice, another end user of the key: %+v", d)
			}
			if d := req(ls[0], ""); !d.Allowed {
				t.Errorf("a request without a user: %+v", d)
			}
		})
	}
}

// TestEndUserRates: a team's end_user_limits apply to each end user across
// the team's keys.
func TestEndUserRates(t *testing.T) {
	for name, ls := range limiters(t) {
		t.Run(name, func(t *testing.T) {
			keys := teamKeys(2, Team{ID: "eu-" + name, EndUsers: EndUserLimits{RPM: 2}})
			refused := map[string]int{}
			for i := range 6 {
				user := []string{"bob", "carol"}[i%2]
				l, key := ls[i%len(ls)], keys[(i/2)%2]
				var tk Ticket
				l.Admit(&tk, key)
				tk.SetEndUser(user)
				if d := l.Reserve(&tk, "m", ModelLimit{}, 10); !d.Allowed {
					if d.Scope != ScopeEndUser || d.Team != key.Team.ID || d.Reason != ReasonRPM {
						t.Errorf("refusal %+v: want the team's end-user rpm", d)
					}
					refused[user]++
				}
				tk.Release()
			}
			if refused["bob"] != 1 || refused["carol"] != 1 {
				t.Errorf("refused %v: want one each (3 requests on rpm 2)", refused)
			}
		})
	}
}

// TestEndUserForget: idle end users' spend is forgotten after the TTL;
// active ones' is kept; a long user name is kept as its digest.
func TestEndUserForget(t *testing.T) {
	clock := newClock()
	cfg := testConfig(0, 0)
	cfg.Limits.EndUsers.IdleTTL = config.Duration(time.Hour)
	l := newTestLimiter(t, cfg, clock, nil)
	key := &Key{ID: "app", EndUsers: EndUserLimits{BudgetUSD: 10}}
	spend := func(user string) {
		var tk Ticket
		l.Admit(&tk, key)
		tk.SetEndUser(user)
		l.Reserve(&tk, "gpt-4o-mini", ModelLimit{}, 1)
		tk.Settle(Usage{Output: 1000})
	}
	long := strings.Repeat("u", 500)
	spend("idle")
	spend(long)
	clock.Add(50 * time.Minute)
	spend("active")
	clock.Add(20 * time.Minute)
	now := clock.Now()
	if n := l.mem.sweep(now.UnixNano(), now.Add(-time.Hour).UnixNano()); n != 2 {
		t.Errorf("forgot %d end users, want 2 (idle and the long name)", n)
	}
	if n := l.mem.size(); n != 1 {
		t.Errorf("%d end users kept, want 1", n)
	}
	cd := l.cal.at(now)
	if got := l.mem.userSpent(scope{kind: scopeKeyUser, id: "app", model: "active"}, periodTotal, cd); got <= 0 {
		t.Errorf("the active end user's spend is %v, want it kept", got)
	}
	if got := l.mem.userSpent(scope{kind: scopeKeyUser, id: "app", model: "idle"}, periodTotal, cd); got != 0 {
		t.Errorf("the idle end user's spend is %v, want it forgotten", got)
	}
	if u := userName(long); len(u) != len("sha256:")+64 {
		t.Errorf("long user kept as %q", u)
	}
}

// TestShardCollision: two scopes with the same 64-bit hash keep separate
// entries, found again, and swept when idle.
func TestShardCollision(t *testing.T) {
	m := newMemory()
	sh := &m.shards[0]
	a, b := scope{kind: scopeKey, id: "a"}, scope{kind: scopeTeam, id: "b"}
	ea, eb := sh.get(a, 42), sh.get(b, 42)
	if ea == eb || sh.get(a, 42) != ea || sh.get(b, 42) != eb || sh.lookup(b, 42) != eb || sh.lookup(a, 42) != ea {
		t.Fatal("colliding scopes share or lose their entries")
	}
	if sh.lookup(scope{kind: scopeKey, id: "c"}, 42) != nil {
		t.Error("a third scope with the hash found an entry")
	}
	if m.size() != 2 {
		t.Errorf("size %d, want 2", m.size())
	}
	if n := m.sweep(0, 0); n != 2 || m.size() != 0 {
		t.Errorf("swept %d, %d left: want both swept", n, m.size())
	}
}

// TestGovernedSettleReleasesAll: requests that pass every scope (a key
// with limits and a budget, its team's, end users' under both), one
// refused by its end user's budget and one retried on a second target
// leave no slot, reservation or held cost behind, in entries or in the
// spend book; the end users' spend is kept until their idle TTL.
func TestGovernedSettleReleasesAll(t *testing.T) {
	clock := newClock()
	cfg := testConfig(1000, 1_000_000)
	cfg.Limits.EndUsers.IdleTTL = config.Duration(time.Hour)
	l := newTestLimiter(t, cfg, clock, nil)
	eu := EndUserLimits{RPM: 100, TPM: 100_000, BudgetUSD: 0.01, BudgetPeriod: "day"}
	k := &Key{ID: "gov", RPM: 100, TPM: 100_000, MaxConcurrent: 10, BudgetUSD: 1, BudgetPeriod: "month", EndUsers: eu,
		Team: Team{ID: "t", SpendID: "team:t", RPM: 100, TPM: 100_000, MaxConcurrent: 10, BudgetUSD: 1, EndUsers: eu}}
	refused := 0
	for i := range 12 {
		user := []string{"ann", "bob"}[i%2]
		var tk Ticket
		if d := l.Admit(&tk, k); !d.Allowed {
			t.Fatalf("admit %d: %+v", i, d)
		}
		tk.SetEndUser(user)
		d := l.Reserve(&tk, "gpt-4o-mini", ModelLimit{RPM: 100, TPM: 100_000}, 100)
		if !d.Allowed {
			if d.Reason != ReasonBudget || d.Scope != ScopeEndUser {
				t.Fatalf("request %d refused by %+v, want an end user's budget", i, d)
			}
			refused++
			tk.Release()
			continue
		}
		l.AdmitTarget(&tk, "openai", "gpt-4o-mini", 100)
		l.AdmitTarget(&tk, "openai", "gpt-4o-mini", 100) // a retry: the first is refunded
		tk.Settle(Usage{Input: 1000, Output: 1000})      // $0.003 at $1/$2 per million
	}
	// Each end user's $0.01: after 3 requests of $0.003, the 4th's
	// estimate (100 output tokens: $0.0002) still fits and it spends
	// $0.003 (a budget bounds the estimate, not the actual cost); the 5th
	// and 6th are refused.
	if refused != 4 {
		t.Errorf("%d refused by the end users' budgets, want 4", refused)
	}
	for i := range l.mem.shards {
		sh := &l.mem.shards[i]
		sh.mu.Lock()
		for _, e := range sh.m {
			if e.conc != 0 || e.holds != 0 || e.user != nil && (e.user.holds != 0 || e.user.held != 0) {
				t.Errorf("scope %+v: %d slots, %d holds, user %+v left", e.s, e.conc, e.holds, e.user)
			}
		}
		sh.mu.Unlock()
	}
	l.book.mu.Lock()
	for id, ks := range l.book.keys {
		if ks.holds != 0 || ks.held != 0 {
			t.Errorf("spend of %s: %d holds, $%v held left", id, ks.holds, ks.held)
		}
	}
	l.book.mu.Unlock()
	if got := l.mem.userSpent(scope{kind: scopeTeamUser, id: "t", model: "ann"}, periodDay, l.cal.at(clock.Now())); got < 0.012-1e-12 || got > 0.012+1e-12 {
		t.Errorf("ann's spend under the team %v, want 0.012", got)
	}
	clock.Add(maxDebtPeriods * Period)
	now := clock.Now()
	if n := l.mem.sweep(now.UnixNano(), now.Add(-time.Hour).UnixNano()); l.mem.size() != 4 {
		t.Errorf("swept %d, %d left: want the 4 end users' entries kept for their TTL", n, l.mem.size())
	}
	clock.Add(time.Hour)
	now = clock.Now()
	l.mem.sweep(now.UnixNano(), now.Add(-time.Hour).UnixNano())
	if n := l.mem.size(); n != 0 {
		t.Errorf("%d scopes left once the end users were idle for the TTL", n)
	}
}

// TestUserSpendForwardOnly: a cost settled late with the day before's date
// (two settles straddling midnight) counts in total and its month, and
// never resets the newer day's or month's sum.
func TestUserSpendForwardOnly(t *testing.T) {
	d100, d101 := calDay{day: 100, month: 90}, calDay{day: 101, month: 101}
	u := newUserSpend(d100)
	u.add(1, d100, 1)
	u.add(2, d101, 3) // a new day and month
	u.add(4, d100, 2) // late, dated the day before
	if got := u.spent(periodDay, d101); got != 2 {
		t.Errorf("day %v, want 2", got)
	}
	if got := u.spent(periodMonth, d101); got != 2 {
		t.Errorf("month %v, want 2", got)
	}
	if got := u.spent(periodTotal, d101); got != 7 {
		t.Errorf("total %v, want 7", got)
	}
	if u.last != 3 {
		t.Errorf("last %d, want 3 (the latest)", u.last)
	}
	same := calDay{day: 102, month: 101}
	u.add(8, same, 4)
	u.add(16, d101, 4) // late, the same month
	if got := u.spent(periodMonth, same); got != 26 {
		t.Errorf("month %v, want 26", got)
	}
}

// TestUnpricedEndUsersNotKept: end users with a budget whose requests cost
// nothing (an unpriced model) are swept with their buckets, not kept for
// the idle TTL.
func TestUnpricedEndUsersNotKept(t *testing.T) {
	clock := newClock()
	cfg := testConfig(0, 0)
	cfg.Limits.EndUsers.IdleTTL = config.Duration(time.Hour)
	l := newTestLimiter(t, cfg, clock, nil)
	key := &Key{ID: "app", EndUsers: EndUserLimits{BudgetUSD: 10}}
	for i := range 10 {
		var tk Ticket
		l.Admit(&tk, key)
		tk.SetEndUser(fmt.Sprint("u", i))
		if d := l.Reserve(&tk, "unpriced", ModelLimit{}, 10); !d.Allowed {
			t.Fatal(d)
		}
		tk.Settle(Usage{Output: 10})
	}
	if n := l.mem.size(); n != 10 {
		t.Fatalf("%d entries, want the 10 end users'", n)
	}
	now := clock.Now()
	l.mem.sweep(now.UnixNano(), now.Add(-time.Hour).UnixNano())
	if n := l.mem.size(); n != 0 {
		t.Errorf("%d end users kept with nothing spent", n)
	}
}
