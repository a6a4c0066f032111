package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const reloadAdminToken = "reload-admin-token-0123456789"

// reloadTestConfig renders the config the reload tests alternate: probeRPM
// is the probe key's rpm, extra adds model entries, and bad breaks the
// file (an unknown provider) when set.
func reloadTestConfig(mockAddr, dataDir string, probeRPM int, extra string, bad bool) string {
	prov := "openai"
	if bad {
		prov = "openia"
	}
	return fmt.Sprintf(`
server: {listen: 127.0.0.1:0, shutdown_grace: 20s}
log: {level: info}
data_dir: %s
admin: {token: %s}
auth:
  enabled: true
  keys:
    - {key: sk-load, id: load}
    - {key: sk-probe, id: probe, rpm: %d}
telemetry: {enabled: true, flush_interval: 50ms}
providers:
  - {name: openai, kind: openai, base_url: "http://%s/v1", api_keys: [sk-mock]}
models:
  - {name: gpt-4o-mini, targets: [{provider: %s}]}
%s`, dataDir, reloadAdminToken, probeRPM, mockAddr, prov, extra)
}

// TestReloadUnderLoad reloads a running gateway 20 times, alternating two
// valid configs and an invalid one, under a steady bounded load of buffered
// and streamed requests: no request fails, no connection is reset, no log
// row is lost, and each new config holds from the first request after its
// reload returns.
func TestReloadUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	mockAddr := startMock(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "sluice.yaml")
	cfgA := reloadTestConfig(mockAddr, dir, 400, "", false)
	cfgB := reloadTestConfig(mockAddr, dir, 500, "  - {name: gpt-4o, targets: [{provider: openai}]}\n", false)
	cfgBad := reloadTestConfig(mockAddr, dir, 600, "", true)
	if err := os.WriteFile(path, []byte(cfgA), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	cmd, addr, exited := startProcessFile(t, path, &logs)
	base := "http://" + addr
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 20 * time.Second}

	send := func(key, model string, stream bool) (*http.Response, string, error) {
		body := fmt.Sprintf(`{"model":%q,"stream":%t,"messages":[{"role":"user","content":"reload me"}]}`, model, stream)
		req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		if stream {
			req.Header.Set("X-Mock-ITL", "5")
			req.Header.Set("X-Mock-Tokens", "12")
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, string(b), err
	}

	// The load: four buffered and two streaming clients on keep-alive
	// connections, until the reloads are done.
	var sent, failed atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func(stream bool) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				resp, body, err := send("sk-load", "gpt-4o-mini", stream)
				switch {
				case err != nil:
					err = fmt.Errorf("transport: %w", err)
				case resp.StatusCode != 200:
					err = fmt.Errorf("status %d: %s", resp.StatusCode, body)
				case stream && !strings.HasSuffix(body, "data: [DONE]\n\n"):
					err = fmt.Errorf("stream cut: %q", body)
				}
				if err != nil {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
				}
			}
		}(w >= 4)
	}

	probes := 0
	reload := func(cfg string) (int, map[string]any) {
		t.Helper()
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", base+"/admin/v1/reload", nil)
		req.Header.Set("Authorization", "Bearer "+reloadAdminToken)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, out
	}
	// probe checks the config in force: whether gpt-4o exists and the
	// probe key's rpm, from the first request after the reload.
	probe := func(i int, wantModel bool, wantRPM string) {
		t.Helper()
		probes += 2
		resp, body, err := send("sk-probe", "gpt-4o", false)
		if err != nil {
			t.Fatalf("reload %d: probe: %v", i, err)
		}
		if got := resp.StatusCode == 200; got != wantModel {
			t.Fatalf("reload %d: gpt-4o answered %d, want the model present=%t: %s", i, resp.StatusCode, wantModel, body)
		}
		resp, body, err = send("sk-probe", "gpt-4o-mini", false)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("reload %d: probe: %v %v %s", i, err, resp, body)
		}
		if got := resp.Header.Get("X-Ratelimit-Limit-Requests"); got != wantRPM {
			t.Fatalf("reload %d: the probe key's rpm is %q, want %q", i, got, wantRPM)
		}
	}
	time.Sleep(200 * time.Millisecond) // the load is running
	for i := range 20 {
		switch i % 3 {
		case 0:
			status, out := reload(cfgB)
			if status != 200 || out["result"] != "applied" {
				t.Fatalf("reload %d (B): %d %v", i, status, out)
			}
			probe(i, true, "500")
		case 1:
			status, out := reload(cfgBad)
			if status != 422 || out["result"] != "rejected" {
				t.Fatalf("reload %d (invalid): %d %v", i, status, out)
			}
			probe(i, true, "500") // B stays in force
		case 2:
			status, out := reload(cfgA)
			if status != 200 || out["result"] != "applied" {
				t.Fatalf("reload %d (A): %d %v", i, status, out)
			}
			probe(i, false, "400")
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed during the reloads; first: %v", n, sent.Load(), firstFailure.Load())
	}
	t.Logf("%d requests during 20 reloads, none failed", sent.Load())

	// Every request has its log row: the load's and the probes'.
	want := map[string]int64{"load": sent.Load(), "probe": int64(probes)}
	deadline := time.Now().Add(15 * time.Second)
	var got map[string]int64
	for {
		got = usageByKey(t, client, base)
		if got["load"] == want["load"] && got["probe"] == want["probe"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log rows by key %v, want %v", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if m := metricValue(t, client, base, `sluice_config_reloads_total{result="rejected"}`); m != "7" {
		t.Errorf("rejected reloads = %s, want 7", m)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v\nlogs:\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("sluice did not exit")
	}
}

func usageByKey(t *testing.T, client *http.Client, base string) map[string]int64 {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/admin/v1/usage?group_by=key", nil)
	req.Header.Set("Authorization", "Bearer "+reloadAdminToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data []struct {
			KeyID    string `json:"key_id"`
			Requests int64  `json:"requests"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, r := range out.Data {
		m[r.KeyID] = r.Requests
	}
	return m
}

func metricValue(t *testing.T, client *http.Client, base, series string) string {
	t.Helper()
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			return v
		}
	}
	return ""
}

// TestSIGHUPReloads checks that SIGHUP reloads the file instead of killing
// the process (Go's default), that an invalid file keeps the running config
// and logs its problems in FILE:LINE:COL form, and that the process still
// drains and exits 0 on SIGTERM.
func TestSIGHUPReloads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	mockAddr := startMock(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "sluice.yaml")
	if err := os.WriteFile(path, []byte(reloadTestConfig(mockAddr, dir, 400, "", false)), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	cmd, addr, exited := startProcessFile(t, path, &logs)
	base := "http://" + addr
	status := func(model string) int {
		req, _ := http.NewRequest("POST", base+"/v1/chat/completions",
			strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer sk-load")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// waitFor polls until the model's status is want; it returns how long
	// the reload took to be seen.
	waitFor := func(model string, want int) time.Duration {
		start := time.Now()
		for status(model) != want {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("%s never answered %d after SIGHUP\nlogs:\n%s", model, want, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		return time.Since(start)
	}
	if got := status("gpt-4o"); got != 404 {
		t.Fatalf("gpt-4o before the reload: %d", got)
	}
	if err := os.WriteFile(path, []byte(reloadTestConfig(mockAddr, dir, 400, "  - {name: gpt-4o, targets: [{provider: openai}]}\n", false)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	t.Logf("SIGHUP reload seen by a client after %v", waitFor("gpt-4o", 200))

	if err := os.WriteFile(path, []byte(reloadTestConfig(mockAddr, dir, 400, "", true)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "config reload rejected") {
		if time.Now().After(deadline) {
			t.Fatalf("no rejection logged\nlogs:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "sluice.yaml:") || !strings.Contains(logs.String(), `unknown provider \"openia\"`) {
		t.Errorf("rejection not logged as FILE:LINE:COL: PATH: message:\n%s", logs.String())
	}
	if got := status("gpt-4o"); got != 200 {
		t.Fatalf("gpt-4o after a rejected reload: %d", got)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Fatalf("exit: %v\nlogs:\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("sluice did not exit")
	}
}
