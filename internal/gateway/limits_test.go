package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestRequestRateLimit(t *testing.T) {
	s := newStackYAML(t, nil, authConfig)
	refused := 0
	for i := 0; i < 7; i++ { // rpm 5: 5 + 2 rapid requests get exactly 2 refusals
		resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), bearer("sk-static-rpm"))
		switch resp.StatusCode {
		case 200:
			if resp.Header.Get("X-Ratelimit-Limit-Requests") != "5" || resp.Header.Get("X-Ratelimit-Remaining-Requests") == "" ||
				resp.Header.Get("X-Ratelimit-Reset-Requests") == "" {
				t.Fatalf("rate-limit headers missing: %v", resp.Header)
			}
		case 429:
			refused++
			if !strings.Contains(body, `"code":"rate_limit_exceeded"`) || !strings.Contains(body, "rpm") {
				t.Fatalf("429 body %s", body)
			}
			if resp.Header.Get("Retry-After") == "" || resp.Header.Get("Retry-After-Ms") == "" {
				t.Fatalf("429 without Retry-After(-Ms): %v", resp.Header)
			}
		default:
			t.Fatalf("status %d %s", resp.StatusCode, body)
		}
	}
	if refused != 2 {
		t.Fatalf("%d refusals, want exactly 2", refused)
	}
	// Anthropic route: the same limit, Anthropic's error shape.
	resp, body := s.post(t, "/v1/messages", chat("claude-3-5-haiku"), map[string]string{"X-Api-Key": "sk-static-rpm"})
	if resp.StatusCode != 429 || !strings.Contains(body, `"type":"rate_limit_error"`) {
		t.Fatalf("anthropic 429: %d %s", resp.StatusCode, body)
	}
}

func TestTokenReservationStopsOvershoot(t *testing.T) {
	s := newStackYAML(t, nil, authConfig)
	// 50 concurrent requests with max_tokens 100 against a fresh 1,000-tpm
	// key: the reservations admit at most 10.
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	body := `{"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, b := s.post(t, "/v1/chat/completions", body, map[string]string{"Authorization": "Bearer sk-static-tpm", "X-Mock-Latency": "1000"})
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
			case 429:
				if !strings.Contains(b, "tpm") {
					t.Errorf("429 does not name tpm: %s", b)
				}
				refused.Add(1)
			default:
				t.Errorf("status %d %s", resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	if ok.Load() > 10 || ok.Load() == 0 {
		t.Fatalf("%d admitted of 50 (max_tokens 100, tpm 1000): want 1..10", ok.Load())
	}
}

func TestConcurrencyLimitRejectsAtOnce(t *testing.T) {
	s := newStackYAML(t, nil, authConfig)
	var wg sync.WaitGroup
	statuses := make(chan int, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), map[string]string{"Authorization": "Bearer sk-static-conc", "X-Mock-Latency": "1000"})
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	n429 := 0
	for st := range statuses {
		if st == 429 {
			n429++
		}
	}
	if n429 != 1 {
		t.Fatalf("%d of 3 concurrent requests refused with max_concurrent 2, want 1", n429)
	}
	// The slots came back: the next request passes.
	if resp, _ := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), bearer("sk-static-conc")); resp.StatusCode != 200 {
		t.Fatalf("slot leaked: %d", resp.StatusCode)
	}
}

func TestBudgetAndKeyView(t *testing.T) {
	s := newStackYAML(t, nil, authConfig)
	resp, _ := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), bearer("sk-static-budget"))
	if resp.StatusCode != 200 {
		t.Fatalf("first request: %d", resp.StatusCode)
	}
	resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), bearer("sk-static-budget"))
	if resp.StatusCode != 429 || !strings.Contains(body, `"code":"insufficient_quota"`) {
		t.Fatalf("over budget: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("GET", s.url+"/v1/key", nil)
	req.Header.Set("Authorization", "Bearer sk-static-budget")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	var kv struct {
		SpendUSD  float64  `json:"spend_usd"`
		Remaining *float64 `json:"remaining_budget_usd"`
		ResetsAt  *string  `json:"budget_resets_at"`
		Usage     *struct {
			InFlight int64 `json:"in_flight"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(b, &kv); err != nil || kv.SpendUSD <= 0 || kv.Remaining == nil || kv.ResetsAt == nil || kv.Usage == nil {
		t.Fatalf("GET /v1/key: %s", b)
	}
}

// TestKeyViewLimits: GET /v1/key says "unlimited" for the limits a key does
// not have, instead of a limit and a remaining of 0 (issue #15).
func TestKeyViewLimits(t *testing.T) {
	s := newStackYAML(t, nil, authConfig)
	const unlimited = `{"limit":null,"remaining":null,"reset":null,"unlimited":true}`
	tests := []struct {
		key               string
		requests, tokens  string
		maxConc, inFlight string
	}{
		{"sk-static-all", unlimited, unlimited, "null", "null"},
		{"sk-static-rpm", `{"limit":5,"remaining":5,"reset":"0s","unlimited":false}`, unlimited, "null", "null"},
		{"sk-static-tpm", unlimited, `{"limit":1000,"remaining":1000,"reset":"0s","unlimited":false}`, "null", "null"},
		{"sk-static-conc", unlimited, unlimited, "2", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			st, body := getPath(t, s, "/v1/key", bearer(tt.key))
			var kv struct {
				Usage struct {
					Requests      json.RawMessage `json:"requests"`
					Tokens        json.RawMessage `json:"tokens"`
					MaxConcurrent json.RawMessage `json:"max_concurrent"`
					InFlight      json.RawMessage `json:"in_flight"`
				} `json:"usage"`
			}
			if st != 200 || json.Unmarshal([]byte(body), &kv) != nil {
				t.Fatalf("GET /v1/key: %d %s", st, body)
			}
			u := kv.Usage
			if string(u.Requests) != tt.requests || string(u.Tokens) != tt.tokens ||
				string(u.MaxConcurrent) != tt.maxConc || string(u.InFlight) != tt.inFlight {
				t.Fatalf("usage: requests %s tokens %s max_concurrent %s in_flight %s", u.Requests, u.Tokens, u.MaxConcurrent, u.InFlight)
			}
		})
	}
}
