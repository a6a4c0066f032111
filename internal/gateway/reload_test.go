package gateway_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
)

// reloadConfig is a gateway with keys, a limited static key and one model;
// tests reload it with edits made by strings.Replace.
const reloadConfig = `
server: {listen: 127.0.0.1:0}
log: {level: debug}
data_dir: ${DATA_DIR}
admin: {token: test-admin-token-0123456789}
auth:
  enabled: true
  keys:
    - {key: sk-reload-a, id: a, rpm: 1000}
    - {key: sk-reload-b, id: b, rpm: 3}
providers:
  - {name: openai, kind: openai, base_url: "${UPSTREAM}/v1", api_keys: [sk-provider-openai]}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
`

type reloadReply struct {
	Result       string   `json:"result"`
	Changed      []string `json:"changed"`
	NeedsRestart []string `json:"needs_restart"`
	Errors       []string `json:"errors"`
}

// reload sets the config text the gateway reads and calls POST
// /admin/v1/reload.
func (s *stack) reload(t *testing.T, yaml string) (int, reloadReply) {
	t.Helper()
	s.next.Store(&yaml)
	var out reloadReply
	status := s.admin(t, "POST", "/admin/v1/reload", "", adminToken, &out)
	return status, out
}

func TestReloadAppliesModelsAndKeys(t *testing.T) {
	s := newStackYAML(t, nil, reloadConfig)
	a := bearer("sk-reload-a")
	if resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o"), bearer("sk-reload-b")); resp.StatusCode != 404 {
		t.Fatalf("gpt-4o before the reload: %d %s", resp.StatusCode, body)
	}

	// A model added, key a's rpm down to 2: both hold from the very next
	// request after the reload returns.
	next := strings.Replace(reloadConfig, "  - {name: gpt-4o-mini, targets: [{provider: openai}]}",
		"  - {name: gpt-4o-mini, targets: [{provider: openai}]}\n  - {name: gpt-4o, targets: [{provider: openai}]}", 1)
	next = strings.Replace(next, "id: a, rpm: 1000", "id: a, rpm: 2", 1)
	status, res := s.reload(t, next)
	if status != 200 || res.Result != "applied" {
		t.Fatalf("reload: %d %+v", status, res)
	}
	if !slices.Contains(res.Changed, "models") || !slices.Contains(res.Changed, "auth.keys") || len(res.NeedsRestart) != 0 {
		t.Errorf("changed %v, needs_restart %v", res.Changed, res.NeedsRestart)
	}
	for i := range 2 {
		if resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o"), a); resp.StatusCode != 200 {
			t.Fatalf("gpt-4o after the reload, request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o"), a); resp.StatusCode != 429 {
		t.Fatalf("third request at rpm 2: %d %s", resp.StatusCode, body)
	}

	// The same file again: nothing to do.
	if status, res := s.reload(t, next); status != 200 || res.Result != "unchanged" || len(res.Changed) != 0 {
		t.Fatalf("same file: %d %+v", status, res)
	}
	if v := scrape(t, s, `sluice_config_reloads_total{result="applied"}`); v != 1 {
		t.Errorf("applied reloads = %v", v)
	}
	if v := scrape(t, s, `sluice_config_reloads_total{result="unchanged"}`); v != 1 {
		t.Errorf("unchanged reloads = %v", v)
	}
}

func TestReloadKeepsLimitStateOfUnchangedKeys(t *testing.T) {
	s := newStackYAML(t, nil, reloadConfig)
	b := bearer("sk-reload-b") // rpm 3, not touched by the reload
	for i := range 3 {
		if resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), b); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	next := strings.Replace(reloadConfig, "id: a, rpm: 1000", "id: a, rpm: 999", 1)
	if status, res := s.reload(t, next); status != 200 || res.Result != "applied" {
		t.Fatalf("reload: %d %+v", status, res)
	}
	// A fresh bucket would admit three more; the kept one admits none.
	if resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), b); resp.StatusCode != 429 {
		t.Fatalf("fourth request after a reload that left key b alone: %d %s", resp.StatusCode, body)
	}
}

func TestReloadRejectsInvalidConfig(t *testing.T) {
	s := newStackYAML(t, nil, reloadConfig)
	bad := strings.Replace(reloadConfig, "targets: [{provider: openai}]", "targets: [{provider: openi}]", 1)
	bad = strings.Replace(bad, "rpm: 1000", "rpm: lots", 1)
	status, res := s.reload(t, bad)
	if status != 422 || res.Result != "rejected" || len(res.Errors) != 2 {
		t.Fatalf("reload: %d %+v", status, res)
	}
	for _, e := range res.Errors {
		// FILE:LINE:COL: PATH: message
		if !strings.HasPrefix(e, "test.yaml:") || strings.Count(strings.SplitN(e, " ", 2)[0], ":") != 3 {
			t.Errorf("error not in FILE:LINE:COL: form: %q", e)
		}
	}
	if !strings.Contains(strings.Join(res.Errors, "\n"), `unknown provider "openi"`) {
		t.Errorf("errors: %v", res.Errors)
	}
	if !strings.Contains(s.logs.String(), `config reload rejected: test.yaml:`) {
		t.Errorf("rejection not logged:\n%s", s.logs.String())
	}
	// The old config keeps serving.
	if resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), bearer("sk-reload-a")); resp.StatusCode != 200 {
		t.Fatalf("after a rejected reload: %d %s", resp.StatusCode, body)
	}
	if v := scrape(t, s, `sluice_config_reloads_total{result="rejected"}`); v != 1 {
		t.Errorf("rejected reloads = %v", v)
	}
	if status := s.admin(t, "GET", "/admin/v1/reload", "", adminToken, nil); status != 405 {
		t.Errorf("GET /admin/v1/reload: %d", status)
	}
	if status := s.admin(t, "POST", "/admin/v1/reload", "", "wrong-token", nil); status != 401 {
		t.Errorf("reload with a wrong token: %d", status)
	}
}

func TestReloadReportsRestartSettings(t *testing.T) {
	s := newStackYAML(t, nil, reloadConfig)
	next := strings.Replace(reloadConfig, "server: {listen: 127.0.0.1:0}", "server: {listen: 127.0.0.1:1, max_in_flight: 7}", 1)
	next = strings.Replace(next, "data_dir: ${DATA_DIR}", "data_dir: ${DATA_DIR}/elsewhere", 1)
	next = strings.Replace(next, "log: {level: debug}", "log: {level: warn}", 1)
	status, res := s.reload(t, next)
	if status != 200 || res.Result != "applied" {
		t.Fatalf("reload: %d %+v", status, res)
	}
	if !slices.Equal(res.NeedsRestart, []string{"server.listen", "data_dir"}) {
		t.Errorf("needs_restart = %v", res.NeedsRestart)
	}
	if !slices.Equal(res.Changed, []string{"server.max_in_flight", "server.max_streams", "log.level"}) { // max_streams follows max_in_flight
		t.Errorf("changed = %v", res.Changed)
	}
	cfg := s.gw.Config()
	if cfg.Server.Listen != "127.0.0.1:0" || strings.HasSuffix(cfg.DataDir, "elsewhere") || cfg.Server.MaxInFlight != 7 {
		t.Errorf("config in force: listen %q, data_dir %q, max_in_flight %d", cfg.Server.Listen, cfg.DataDir, cfg.Server.MaxInFlight)
	}
	if s.level.Level() != slog.LevelWarn {
		t.Errorf("log level %v after reloading log.level: warn", s.level.Level())
	}
}

// TestReloadInFlightStreamFinishes removes the model a stream is using while
// the stream runs: the stream completes on the config it started with, and
// the next request sees the model gone.
func TestReloadInFlightStreamFinishes(t *testing.T) {
	s := newStackYAML(t, nil, reloadConfig)
	req, _ := http.NewRequest("POST", s.url+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer sk-reload-a")
	req.Header.Set("X-Mock-ITL", "30")
	req.Header.Set("X-Mock-Tokens", "20")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}

	next := strings.Replace(reloadConfig, "models:\n  - {name: gpt-4o-mini, targets: [{provider: openai}]}",
		"models:\n  - {name: gpt-4o, targets: [{provider: openai}]}", 1)
	if status, res := s.reload(t, next); status != 200 || res.Result != "applied" {
		t.Fatalf("reload: %d %+v", status, res)
	}
	if r, body := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), bearer("sk-reload-a")); r.StatusCode != 404 {
		t.Fatalf("removed model after the reload: %d %s", r.StatusCode, body)
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("stream cut by the reload: %v", err)
	}
	if !strings.HasSuffix(string(rest), "data: [DONE]\n\n") || strings.Count(string(rest), "data: ") < 20 {
		t.Fatalf("stream did not finish:\n%s", rest)
	}
}

func TestReloadGuardrailsAndRemovedKey(t *testing.T) {
	s := newStackYAML(t, nil, reloadConfig)
	ssn := userMsg("gpt-4o-mini", "my ssn is 123-45-6789")
	if resp, body := s.post(t, "/v1/chat/completions", ssn, bearer("sk-reload-a")); resp.StatusCode != 200 {
		t.Fatalf("before guardrails: %d %s", resp.StatusCode, body)
	}
	next := strings.Replace(reloadConfig, "    - {key: sk-reload-b, id: b, rpm: 3}\n", "", 1) + `
guardrails:
  sets:
    - name: pii
      rules: [{name: ssn, kind: ssn, action: block, scope: input}]
  default: [pii]
`
	if status, res := s.reload(t, next); status != 200 || !slices.Equal(res.Changed, []string{"auth.keys", "guardrails.sets", "guardrails.default"}) {
		t.Fatalf("reload: %d %+v", status, res)
	}
	resp, body := s.post(t, "/v1/chat/completions", ssn, bearer("sk-reload-a"))
	if resp.StatusCode != 400 || !strings.Contains(body, "guardrail_violation") {
		t.Fatalf("after adding a block rule: %d %s", resp.StatusCode, body)
	}
	if resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), bearer("sk-reload-b")); resp.StatusCode != 401 {
		t.Fatalf("a key removed from the file: %d %s", resp.StatusCode, body)
	}
}

// TestWatchConfig reloads on a change of the file's content while
// server.watch_config is on, and tries rejected content only once.
func TestWatchConfig(t *testing.T) {
	watched := strings.Replace(reloadConfig, "server: {listen: 127.0.0.1:0}", "server: {listen: 127.0.0.1:0, watch_config: true}", 1)
	s := newStackYAML(t, nil, watched)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.gw.WatchConfig(ctx, 5*time.Millisecond, func() (string, error) { return config.Hash([]byte(*s.next.Load())), nil })
	}()
	waitReloads := func(result string, n float64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for scrape(t, s, `sluice_config_reloads_total{result="`+result+`"}`) != n {
			if time.Now().After(deadline) {
				t.Fatalf("%s reloads never reached %v", result, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	bad := strings.Replace(watched, "provider: openai}]", "provider: nope}]", 1)
	s.next.Store(&bad)
	waitReloads("rejected", 1)
	time.Sleep(50 * time.Millisecond) // ten more checks of the same content
	waitReloads("rejected", 1)

	added := strings.Replace(watched, "models:\n", "models:\n  - {name: gpt-4o, targets: [{provider: openai}]}\n", 1)
	s.next.Store(&added)
	waitReloads("applied", 1)
	if resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o"), bearer("sk-reload-a")); resp.StatusCode != 200 {
		t.Fatalf("model added by the watched file: %d %s", resp.StatusCode, body)
	}
	if v := scrape(t, s, `sluice_config_info{hash="`+config.Hash([]byte(added))+`"}`); v != 1 {
		t.Errorf("sluice_config_info for the new file = %v", v)
	}
	if v := scrape(t, s, `sluice_config_info{hash="`+config.Hash([]byte(watched))+`"}`); v != -1 {
		t.Errorf("sluice_config_info still has the old file: %v", v)
	}

	// Turned off by a reload: edits are no longer picked up.
	off := strings.Replace(added, "watch_config: true", "watch_config: false", 1)
	s.next.Store(&off)
	waitReloads("applied", 2)
	again := off + "\n# an edit\n"
	s.next.Store(&again)
	time.Sleep(50 * time.Millisecond)
	waitReloads("applied", 2)
	cancel()
	<-done
}

// TestReloadCannotStartALimiter: a gateway started without keys and
// without provider limits runs no limiter; limits added by a reload are
// reported as needing a restart, and the rest of the file applies.
func TestReloadCannotStartALimiter(t *testing.T) {
	s := newStack(t, nil)
	next := strings.Replace(baseConfig, "    api_keys: [\"sk-provider-openai\"]\n",
		"    api_keys: [\"sk-provider-openai\"]\n    limits: {rpm: 1}\n", 1)
	next = strings.Replace(next, "max_in_flight: ${MAX_IN_FLIGHT:-0}", "max_in_flight: 100", 1)
	s.next.Store(&next)
	res := s.gw.Reload(context.Background())
	if res.Result != "applied" || !slices.Equal(res.NeedsRestart, []string{"providers[].limits"}) ||
		!slices.Equal(res.Changed, []string{"server.max_in_flight", "server.max_streams", "providers"}) {
		t.Fatalf("reload: %+v", res)
	}
	for i := range 3 {
		if resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), nil); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
}

// TestReloadTurningAuthOffKeepsKeys: auth.enabled needs a restart, and the
// static keys it governs wait with it (turning auth off empties auth.keys);
// applying the keys alone would lock every client out.
func TestReloadTurningAuthOffKeepsKeys(t *testing.T) {
	s := newStackYAML(t, nil, reloadConfig)
	off := strings.Replace(reloadConfig, "  enabled: true\n  keys:\n    - {key: sk-reload-a, id: a, rpm: 1000}\n    - {key: sk-reload-b, id: b, rpm: 3}\n",
		"  enabled: false\n", 1)
	status, res := s.reload(t, off)
	if status != 200 || !slices.Equal(res.NeedsRestart, []string{"auth.enabled", "auth.keys"}) || len(res.Changed) != 0 {
		t.Fatalf("reload: %d %+v", status, res)
	}
	if resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), bearer("sk-reload-a")); resp.StatusCode != 200 {
		t.Fatalf("a static key after a reload that turns auth off: %d %s", resp.StatusCode, body)
	}
}

// TestReloadKeepsStaticKeyTimestamps: a reload does not make an unchanged
// static key look new; a changed one shows when it changed.
func TestReloadKeepsStaticKeyTimestamps(t *testing.T) {
	s := newStackYAML(t, nil, reloadConfig)
	type stamps struct {
		CreatedAt string `json:"created_at"`
		UpdatedAt string `json:"updated_at"`
	}
	get := func(id string) stamps {
		var k stamps
		if status := s.admin(t, "GET", "/admin/v1/keys/"+id, "", adminToken, &k); status != 200 {
			t.Fatalf("GET key %s: %d", id, status)
		}
		return k
	}
	a0, b0 := get("a"), get("b")
	time.Sleep(10 * time.Millisecond)
	if status, res := s.reload(t, strings.Replace(reloadConfig, "id: a, rpm: 1000", "id: a, rpm: 999", 1)); status != 200 {
		t.Fatalf("reload: %d %+v", status, res)
	}
	a1, b1 := get("a"), get("b")
	if b1 != b0 {
		t.Errorf("unchanged key b: %+v, was %+v", b1, b0)
	}
	if a1.CreatedAt != a0.CreatedAt || a1.UpdatedAt == a0.UpdatedAt {
		t.Errorf("changed key a: %+v, was %+v", a1, a0)
	}
}

// TestReloadUnderTrafficChangingAProvider reloads a provider's settings
// while requests use it (run with -race: the carried-over targets must not
// be compared by reading the live clients).
func TestReloadUnderTrafficChangingAProvider(t *testing.T) {
	cfg := strings.Replace(reloadConfig, "api_keys: [sk-provider-openai]", "api_keys: [sk-p1, sk-p2], max_conns: MAXCONNS", 1)
	s := newStackYAML(t, nil, strings.Replace(cfg, "MAXCONNS", "100", 1))
	stop := make(chan struct{})
	errs := make(chan string, 1)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, body := s.post(t, "/v1/chat/completions", chat("gpt-4o-mini"), bearer("sk-reload-a"))
				if resp.StatusCode != 200 {
					select {
					case errs <- body:
					default:
					}
				}
			}
		}()
	}
	for i := range 10 {
		if status, res := s.reload(t, strings.Replace(cfg, "MAXCONNS", itoa(100+i%2), 1)); status != 200 {
			t.Fatalf("reload %d: %d %+v", i, status, res)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case e := <-errs:
		t.Fatalf("a request failed during the reloads: %s", e)
	default:
	}
}

// TestWatchConfigSeesARevert: content the watch applied once is applied
// again when the file returns to it after another reload.
func TestWatchConfigSeesARevert(t *testing.T) {
	watched := strings.Replace(reloadConfig, "server: {listen: 127.0.0.1:0}", "server: {listen: 127.0.0.1:0, watch_config: true}", 1)
	s := newStackYAML(t, nil, watched)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.gw.WatchConfig(ctx, 5*time.Millisecond, func() (string, error) { return config.Hash([]byte(*s.next.Load())), nil })
	withModel := strings.Replace(watched, "models:\n", "models:\n  - {name: gpt-4o, targets: [{provider: openai}]}\n", 1)
	waitModel := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, _ := s.post(t, "/v1/chat/completions", chat("gpt-4o"), bearer("sk-reload-a"))
			if resp.StatusCode == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("gpt-4o never answered %d", want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	s.next.Store(&withModel)
	waitModel(200) // applied by the watch
	// Back to the first file through the endpoint (the watch may apply it
	// too: the same content), then to the watch's own earlier content.
	if status, res := s.reload(t, watched); status != 200 {
		t.Fatalf("reload: %d %+v", status, res)
	}
	waitModel(404)
	s.next.Store(&withModel)
	waitModel(200)
}
