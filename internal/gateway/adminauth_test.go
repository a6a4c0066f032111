package gateway_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/gateway"
)

// adminAuthConfig serves the admin API on the client listener behind a
// local load balancer that is a trusted proxy.
const adminAuthConfig = `
server: {listen: 127.0.0.1:0, trusted_proxies: [127.0.0.1]}
log: {level: debug}
data_dir: ${DATA_DIR}
admin: {token: ` + adminToken + `}
auth: {enabled: true}
providers:
  - {name: openai, kind: openai, base_url: "${UPSTREAM}/v1"}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
`

// TestAdminAuthFailures: failed admin authentications are counted, logged
// without token material and, per client, throttled with 429 after ten in
// a minute; loopback callers are exempt unless a trusted proxy names the
// client in X-Forwarded-For.
func TestAdminAuthFailures(t *testing.T) {
	s := newStackYAML(t, nil, adminAuthConfig)
	var now atomic.Int64
	now.Store(time.Unix(1_700_000_000, 0).UnixNano())
	gateway.SetAdminClock(s.gw, func() time.Time { return time.Unix(0, now.Load()) })

	type reply struct {
		status     int
		retryAfter string
		body       string
	}
	call := func(token, xff string) reply {
		req, _ := http.NewRequest("GET", s.url+"/admin/v1/keys", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return reply{resp.StatusCode, resp.Header.Get("Retry-After"), string(b)}
	}
	guess := func(i int) string { return "wrong-guess-" + strconv.Itoa(i) + "-xyzzy" }

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"a loopback caller is never throttled", func(t *testing.T) {
			for i := range 15 {
				if r := call(guess(i), ""); r.status != 401 {
					t.Fatalf("attempt %d: %d %s", i, r.status, r.body)
				}
			}
		}},
		{"a client behind the trusted proxy gets 429 after ten failures", func(t *testing.T) {
			for i := range 10 {
				if r := call(guess(100+i), "203.0.113.7"); r.status != 401 {
					t.Fatalf("attempt %d: %d %s", i, r.status, r.body)
				}
			}
			r := call(guess(200), "203.0.113.7")
			if r.status != 429 || r.retryAfter != "60" || !strings.Contains(r.body, `"code":"rate_limit_exceeded"`) {
				t.Fatalf("eleventh attempt: %d Retry-After %q %s", r.status, r.retryAfter, r.body)
			}
		}},
		{"while throttled even the right token waits", func(t *testing.T) {
			now.Add(int64(30 * time.Second))
			if r := call(adminToken, "203.0.113.7"); r.status != 429 || r.retryAfter != "30" {
				t.Fatalf("%d Retry-After %q %s", r.status, r.retryAfter, r.body)
			}
		}},
		{"another client is not affected", func(t *testing.T) {
			if r := call(adminToken, "203.0.113.8"); r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
		}},
		{"after the window the client may try again", func(t *testing.T) {
			now.Add(int64(30 * time.Second))
			if r := call(adminToken, "203.0.113.7"); r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
		}},
	}
	for _, st := range steps {
		t.Run(st.name, st.run)
	}

	if got := scrape(t, s, "sluice_admin_auth_failures_total"); got != 25 {
		t.Errorf("sluice_admin_auth_failures_total = %v, want 25 (15 + 10; throttled requests are not authentication attempts)", got)
	}
	logs := s.logs.String()
	for _, want := range []string{
		`msg="admin authentication failed" source=127.0.0.1 method=GET path=/admin/v1/keys reason="wrong token"`,
		`source=203.0.113.7 method=GET path=/admin/v1/keys reason="wrong token" peer=127.0.0.1 failures=10`,
		`too many from this source`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	for _, secret := range []string{adminToken, "xyzzy"} {
		if strings.Contains(logs, secret) {
			t.Errorf("token material %q in the logs", secret)
		}
	}
}

// TestMetricsToken: with metrics.token set, GET /metrics needs it.
func TestMetricsToken(t *testing.T) {
	s := newStackYAML(t, nil, strings.Replace(adminAuthConfig, "log: {level: debug}", "log: {level: debug}\nmetrics: {token: scrape-token-123}", 1))
	tests := []struct {
		name   string
		auth   string
		status int
	}{
		{"no token", "", 401},
		{"wrong token", "Bearer scrape-token-12", 401},
		{"admin token is not the metrics token", "Bearer " + adminToken, 401},
		{"right token", "Bearer scrape-token-123", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.url+"/metrics", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("%d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.status == 200 && !strings.Contains(string(b), "sluice_admin_auth_failures_total 0") {
				t.Errorf("the exposition lacks sluice_admin_auth_failures_total")
			}
			if tt.status == 401 && (strings.Contains(string(b), "scrape-token") || !strings.Contains(string(b), "metrics.token")) {
				t.Errorf("401 body: %s", b)
			}
		})
	}
}
