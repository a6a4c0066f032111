package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestUnpricedModels: with no pricing section, a catalog model is charged
// at the catalog's price, while a model with no price costs 0 and is
// counted, warned about at start and named in /readyz's detail (ready all
// the same).
func TestUnpricedModels(t *testing.T) {
	s := newStackYAML(t, nil, strings.Replace(baseConfig, "passthrough:", `  - name: house
    targets:
      - provider: openai
        model: house-llm
passthrough:`, 1))
	for _, m := range []string{"house", "house", "gpt-4o-mini"} {
		resp, body := s.post(t, "/v1/chat/completions", `{"model":"`+m+`","messages":[{"role":"user","content":"hi"}]}`, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", m, resp.StatusCode, body)
		}
	}
	if got := scrape(t, s, `sluice_unpriced_requests_total{model="house"}`); got != 2 {
		t.Errorf("unpriced requests of house = %v, want 2", got)
	}
	if got := scrape(t, s, `sluice_unpriced_requests_total{model="gpt-4o-mini"}`); got != 0 {
		t.Errorf("unpriced requests of gpt-4o-mini = %v, want 0", got)
	}
	if got := scrape(t, s, `sluice_cost_usd_total{model="gpt-4o-mini",provider="openai"}`); got <= 0 {
		t.Errorf("cost of gpt-4o-mini = %v, want the catalog's price of its usage", got)
	}
	if got := scrape(t, s, `sluice_cost_usd_total{model="house",provider="openai"}`); got != 0 {
		t.Errorf("cost of house = %v, want 0", got)
	}
	if l := s.logs.String(); !strings.Contains(l, "models without a price cost 0") || !strings.Contains(l, "house (openai/house-llm)") {
		t.Errorf("no start warning naming house:\n%s", l)
	}
	resp, err := http.Get(s.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct{ Status, Detail string }
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if resp.StatusCode != 200 || r.Status != "ready" || !strings.Contains(r.Detail, "house (openai/house-llm)") ||
		!strings.Contains(r.Detail, "broken (dead/broken)") || strings.Contains(r.Detail, "gpt-4o-mini") {
		t.Errorf("/readyz = %d %s", resp.StatusCode, b)
	}
}
