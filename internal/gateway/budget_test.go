package gateway_test

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// budgetConfig is authConfig plus a key whose budget pays for about five
// requests of budgetBody at gpt-4o-mini's configured price.
var budgetConfig = strings.Replace(authConfig,
	"    - {key: sk-static-budget,",
	"    - {key: sk-static-budget5, id: budget5, budget_usd: 0.0003, budget_period: day}\n    - {key: sk-static-budget,", 1)

const budgetBody = `{"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`

// Prices of gpt-4o-mini in authConfig, USD per token.
const budgetIn, budgetOut = 0.15e-6, 0.60e-6

// TestBudgetOvershootBound: 50 concurrent requests against a budget for
// about five. Each admission holds its estimated cost (prompt estimate and
// max_tokens), so the spend never exceeds the budget by more than what
// the admitted requests cost beyond their estimates (docs/operations.md,
// "Budgets under concurrency"); the others get 429 insufficient_quota.
func TestBudgetOvershootBound(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testBudgetOvershoot(t, budgetConfig) })
	t.Run("redis", func(t *testing.T) {
		u := os.Getenv("SLUICE_TEST_REDIS")
		if u == "" {
			if os.Getenv("SLUICE_TEST_REQUIRE_SERVICES") == "1" {
				t.Fatal("SLUICE_TEST_REDIS is not set")
			}
			t.Skip("SLUICE_TEST_REDIS is not set: the Redis budget holds are not tested")
		}
		prefix := "sluice-test-budget-" + time.Now().Format("150405.000000000") + ":"
		// A timeout long enough that no admission falls back to the local
		// limits (20 ms by default; -race on a busy machine passes it),
		// whose holds Redis does not see: this tests Redis's holds.
		testBudgetOvershoot(t, budgetConfig+"limits:\n  redis: {url: \""+u+"\", prefix: \""+prefix+"\", timeout: 1s}\n")
	})
}

func testBudgetOvershoot(t *testing.T, cfg string) {
	const budget = 0.0003
	s := newStackYAML(t, nil, cfg)
	est := float64((len(budgetBody)+3)/4)*budgetIn + 100*budgetOut
	var (
		mu                sync.Mutex
		admitted, refused int
		spent, excess     float64 // actual cost; Σ max(0, actual − estimate)
		minCost           = math.MaxFloat64
		wg                sync.WaitGroup
	)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, b := s.post(t, "/v1/chat/completions", budgetBody,
				// Each reply is max_tokens long: its cost is about its estimate,
				// so spend bounds what is admitted whatever the timing.
				map[string]string{"Authorization": "Bearer sk-static-budget5", "X-Mock-Latency": "300", "X-Mock-Tokens": "100"})
			mu.Lock()
			defer mu.Unlock()
			switch resp.StatusCode {
			case 200:
				var r struct {
					Usage struct {
						Prompt     int64 `json:"prompt_tokens"`
						Completion int64 `json:"completion_tokens"`
					} `json:"usage"`
				}
				if err := json.Unmarshal([]byte(b), &r); err != nil || r.Usage.Completion == 0 {
					t.Errorf("reply without usage: %s", b)
					return
				}
				c := float64(r.Usage.Prompt)*budgetIn + float64(r.Usage.Completion)*budgetOut
				admitted++
				spent += c
				minCost = min(minCost, c)
				excess += max(0, c-est)
			case 429:
				refused++
				if !strings.Contains(b, `"code":"insufficient_quota"`) {
					t.Errorf("429 is not insufficient_quota: %s", b)
				}
			default:
				t.Errorf("status %d %s", resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	if admitted == 0 || admitted+refused != 50 {
		t.Fatalf("%d admitted, %d refused of 50", admitted, refused)
	}
	// Admission counts spend and the holds of the requests in flight: however
	// they overlapped, no more can pass than the budget (with what replies
	// cost beyond their estimates) pays for at the cheapest reply's cost.
	// Without holds all 50 arrive at once and pass.
	if most := int((budget + excess) / minCost); admitted > most {
		t.Fatalf("%d admitted: a $%g budget pays for at most %d replies of $%g (estimate $%g)", admitted, budget, most, minCost, est)
	}
	if spent > budget+excess+1e-12 {
		t.Fatalf("spent $%g of a $%g budget: over by more than the requests' cost beyond their estimates ($%g)", spent, budget, excess)
	}
	// The key's spend as the gateway charged it (settlements to Redis are
	// written in the background).
	var charged float64
	for deadline := time.Now().Add(3 * time.Second); ; {
		st, body := getPath(t, s, "/v1/key", bearer("sk-static-budget5"))
		var kv struct {
			SpendUSD float64 `json:"spend_usd"`
		}
		if st != 200 || json.Unmarshal([]byte(body), &kv) != nil {
			t.Fatalf("GET /v1/key: %d %s", st, body)
		}
		charged = kv.SpendUSD
		if charged >= spent-1e-12 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if charged > budget+excess+1e-12 || charged < spent-1e-9 {
		t.Fatalf("charged $%g (replies cost $%g) against a $%g budget, bound $%g", charged, spent, budget, budget+excess)
	}
	t.Logf("%d admitted, %d refused; charged $%g of $%g (estimate $%g each)", admitted, refused, charged, budget, est)
	// The holds were released: once the spend leaves room for an
	// estimate, a request passes again.
	if budget-charged > est {
		if resp, b := s.post(t, "/v1/chat/completions", budgetBody, bearer("sk-static-budget5")); resp.StatusCode != 200 {
			t.Fatalf("holds not released: %d %s", resp.StatusCode, b)
		}
	}
}

// TestFailedAttemptBilled: an attempt that fails after the upstream ran
// the request — here its reply cannot be read to translate it — is billed
// its prompt estimate, as providers bill it; a refused request is not.
func TestFailedAttemptBilled(t *testing.T) {
	s := newStackYAML(t, nil, budgetConfig)
	hdr := map[string]string{"x-api-key": "sk-static-budget5", "anthropic-version": "2023-06-01", "X-Mock-Malformed-Rate": "100"}
	resp, b := s.post(t, "/v1/messages", budgetBody, hdr)
	if resp.StatusCode != 502 {
		t.Fatalf("a malformed reply to translate: %d %s, want 502", resp.StatusCode, b)
	}
	want := float64((len(budgetBody)+3)/4) * budgetIn
	st, body := getPath(t, s, "/v1/key", bearer("sk-static-budget5"))
	var kv struct {
		SpendUSD float64 `json:"spend_usd"`
	}
	if st != 200 || json.Unmarshal([]byte(body), &kv) != nil {
		t.Fatalf("GET /v1/key: %d %s", st, body)
	}
	if math.Abs(kv.SpendUSD-want) > 1e-12 {
		t.Errorf("charged $%g for the failed attempt, want its prompt estimate $%g", kv.SpendUSD, want)
	}
	// A request refused before any attempt costs nothing more.
	if resp, b := s.post(t, "/v1/messages", `{"model":"no-such-model","max_tokens":10,"messages":[]}`, hdr); resp.StatusCode < 400 {
		t.Fatalf("unknown model: %d %s", resp.StatusCode, b)
	}
	st, body = getPath(t, s, "/v1/key", bearer("sk-static-budget5"))
	if st != 200 || json.Unmarshal([]byte(body), &kv) != nil || math.Abs(kv.SpendUSD-want) > 1e-12 {
		t.Errorf("after a refusal: %d %s, want spend $%g", st, body, want)
	}
}

// TestCutStreamBilled: a stream the upstream breaks off before its usage
// is charged the prompt estimate and the tokens received so far, in the
// same format and translated.
func TestCutStreamBilled(t *testing.T) {
	const n = 10 // tokens sent before the upstream disconnects
	body := `{"model":"gpt-4o-mini","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	prompt := float64((len(body)+3)/4) * budgetIn
	for _, tc := range []struct {
		name, path string
		hdr        map[string]string
	}{
		{"same format", "/v1/chat/completions", bearer("sk-static-budget5")},
		{"translated", "/v1/messages", map[string]string{"x-api-key": "sk-static-budget5", "anthropic-version": "2023-06-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStackYAML(t, nil, budgetConfig)
			tc.hdr["X-Mock-Disconnect-After"] = strconv.Itoa(n)
			tc.hdr["X-Mock-Tokens"] = "50"
			resp, b := s.post(t, tc.path, body, tc.hdr)
			if resp.StatusCode != 200 || !strings.Contains(b, "data:") {
				t.Fatalf("stream: %d %s", resp.StatusCode, b)
			}
			st, kb := getPath(t, s, "/v1/key", bearer("sk-static-budget5"))
			var kv struct {
				SpendUSD float64 `json:"spend_usd"`
			}
			if st != 200 || json.Unmarshal([]byte(kb), &kv) != nil {
				t.Fatalf("GET /v1/key: %d %s", st, kb)
			}
			// One token per delta; the same-format count may be off by the
			// events around the text.
			lo, hi := prompt+float64(n-2)*budgetOut, prompt+float64(n+1)*budgetOut
			if kv.SpendUSD < lo-1e-12 || kv.SpendUSD > hi+1e-12 {
				t.Errorf("charged $%g for a stream cut after %d tokens, want $%g–$%g", kv.SpendUSD, n, lo, hi)
			}
		})
	}
}
