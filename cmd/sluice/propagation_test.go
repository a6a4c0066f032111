package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/testenv"
)

// TestKeyChangesReachEveryInstance runs two gateway processes on one
// PostgreSQL database: a key created, rotated or revoked through one
// instance's admin API takes effect on the other within the contract's 5 s.
func TestKeyChangesReachEveryInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	pg := testenv.Postgres(t)
	mockAddr := startMock(t)

	cfg := fmt.Sprintf(`
server: {listen: 127.0.0.1:0}
log: {level: info}
admin: {token: two-instances-admin-token}
storage: {postgres_url: %q}
auth: {enabled: true}
providers:
  - {name: openai, kind: openai, base_url: "http://%s/v1"}
models:
  - {name: gpt-4o-mini, targets: [{provider: openai}]}
`, pg, mockAddr)
	var logsA, logsB syncBuffer
	_, addrA, _ := startProcess(t, cfg, &logsA)
	_, addrB, _ := startProcess(t, cfg, &logsB)
	a, b := "http://"+addrA, "http://"+addrB
	for _, base := range []string{a, b} {
		waitFor(t, 10*time.Second, func() bool { return get(base+"/readyz", "") == 200 })
	}

	chat := func(base, key string) int {
		req, _ := http.NewRequest("POST", base+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	admin := func(method, url string) map[string]any {
		req, _ := http.NewRequest(method, url, strings.NewReader(`{"name":"shared"}`))
		req.Header.Set("Authorization", "Bearer two-instances-admin-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v", method, url, resp.StatusCode, out)
		}
		return out
	}
	// within measures how long until cond holds on instance B (at most 5 s).
	within := func(what string, cond func() bool) {
		start := time.Now()
		waitFor(t, 5*time.Second, cond)
		t.Logf("%s reached the other instance after %v", what, time.Since(start).Round(time.Millisecond))
	}

	created := admin("POST", a+"/admin/v1/keys")
	id, secret := created["id"].(string), created["key"].(string)
	if chat(a, secret) != 200 {
		t.Fatal("new key refused on the instance that created it")
	}
	within("create", func() bool { return chat(b, secret) == 200 })

	rotated := admin("POST", a+"/admin/v1/keys/"+id+"/rotate")
	fresh := rotated["key"].(string)
	within("rotate", func() bool { return chat(b, secret) == 401 && chat(b, fresh) == 200 })

	admin("DELETE", a+"/admin/v1/keys/"+id)
	within("revoke", func() bool { return chat(b, fresh) == 401 })

	for _, l := range []string{logsA.String(), logsB.String()} {
		if strings.Contains(l, secret) || strings.Contains(l, fresh) || strings.Contains(l, "two-instances-admin-token") {
			t.Error("a secret appears in a gateway's output")
		}
	}
}

func get(url, key string) int {
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func waitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", limit)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
