// Package multiinstance holds the test of run.sh, the example setup of
// three Sluice instances behind nginx sharing Redis and PostgreSQL.
package multiinstance

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	adminToken = "multi-test-admin-token"
	benchKey   = "sk-bench-0001"
	rpmKey     = "sk-multi-rpm10" // rpm 10 in sluice.yaml
	rpmLimit   = 10
	chatBody   = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
)

// TestRunScript starts the setup with run.sh up (on ports of its own),
// sends traffic through nginx, revokes a key on one instance and sees every
// instance refuse it within 5 s, checks that a rate limit is shared by the
// three instances, and that run.sh status and down do what they say.
func TestRunScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts nginx, Redis, PostgreSQL and three instances")
	}
	requireTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	tmp, err := os.MkdirTemp("", "sluice-multi-test-")
	if err != nil {
		t.Fatal(err)
	}
	// PostgreSQL runs as the postgres OS user when the test runs as root: it
	// must be able to enter the state directory.
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	bin := filepath.Join(tmp, "sluice")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/sluice-gw/sluice/cmd/sluice").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	lbPort := freePort(t)
	state := filepath.Join(tmp, "state")
	env := scriptEnv(map[string]string{
		"LB_PORT":            strconv.Itoa(lbPort),
		"MOCK_PORT":          strconv.Itoa(freePort(t)),
		"MULTI_DIR":          state,
		"SLUICE_BIN":         bin,
		"SLUICE_ADMIN_TOKEN": adminToken,
	})
	script := func(arg string) (string, int) {
		t.Helper()
		return runScript(t, ctx, env, tmp, arg)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(state); err == nil {
			out, _ := runScript(t, context.Background(), env, tmp, "down")
			t.Logf("cleanup: run.sh down:\n%s", out)
		}
	})

	start := time.Now()
	if out, rc := script("up"); rc != 0 {
		t.Fatalf("run.sh up: exit %d\n%s", rc, out)
	}
	t.Logf("run.sh up took %v", time.Since(start).Round(time.Millisecond))
	ports := readState(t, filepath.Join(state, "ports.env"))
	lb := fmt.Sprintf("http://127.0.0.1:%d", lbPort)
	var instances []string // each instance's own root URL
	for _, p := range strings.Fields(ports["INSTANCE_PORTS"]) {
		instances = append(instances, "http://127.0.0.1:"+p)
	}
	if len(instances) != 3 {
		t.Fatalf("ports.env names %d instances, want 3: %v", len(instances), ports)
	}
	addrs := map[string]bool{} // what nginx says in X-LB-Upstream
	for _, u := range instances {
		addrs[strings.TrimPrefix(u, "http://")] = true
	}

	// Traffic through nginx reaches all three instances.
	served := map[string]int{}
	for range 30 {
		code, upstream := chat(t, lb, benchKey)
		if code != 200 {
			t.Fatalf("through nginx: %d, want 200 (upstream %s)", code, upstream)
		}
		if !addrs[upstream] {
			t.Fatalf("X-LB-Upstream %q is not one of the instances %v", upstream, instances)
		}
		served[upstream]++
	}
	if len(served) != 3 {
		t.Errorf("30 requests through nginx reached %d instances, want 3: %v", len(served), served)
	}

	// The admin API is forwarded too.
	if code, _ := do(t, "GET", lb+"/admin/v1/keys", "", ""); code != 401 {
		t.Errorf("admin API through nginx without the token: %d, want 401", code)
	}
	code, created := do(t, "POST", lb+"/admin/v1/keys", adminToken, `{"name":"multi-test"}`)
	if code != 201 {
		t.Fatalf("POST /admin/v1/keys through nginx: %d %v", code, created)
	}
	id, secret := created["id"].(string), created["key"].(string)

	// The new key reaches every instance within 5 s, then works through nginx.
	for _, u := range instances {
		d := within(t, 5*time.Second, func() bool { c, _ := chat(t, u, secret); return c == 200 })
		t.Logf("created key accepted by %s after %v", u, d)
	}
	for range 6 {
		if code, upstream := chat(t, lb, secret); code != 200 {
			t.Fatalf("created key through nginx: %d (upstream %s)", code, upstream)
		}
	}

	// Revoked on one instance, refused by all within 5 s.
	revokeAt := time.Now()
	if code, body := do(t, "DELETE", instances[1]+"/admin/v1/keys/"+id, adminToken, ""); code != 204 {
		t.Fatalf("DELETE on %s: %d %v", instances[1], code, body)
	}
	for _, u := range instances {
		within(t, 5*time.Second, func() bool { c, _ := chat(t, u, secret); return c == 401 })
		t.Logf("revoked key refused by %s %v after the DELETE returned", u, time.Since(revokeAt).Round(time.Millisecond))
	}
	if d := time.Since(revokeAt); d > 5*time.Second {
		t.Errorf("revocation took %v to reach every instance, want at most 5s", d)
	}
	for range 3 {
		if code, _ := chat(t, lb, secret); code != 401 {
			t.Errorf("revoked key through nginx: %d, want 401", code)
		}
	}

	// The limit is shared: rpm 10, 15 rapid requests spread over the three
	// instances get exactly 5 429s, and each instance refuses some although
	// none alone has seen 10 requests.
	var ok, limited int
	refusedBy := map[string]bool{}
	for i := range rpmLimit + 5 {
		u := instances[i%3]
		switch code, _ := chat(t, u, rpmKey); code {
		case 200:
			ok++
		case 429:
			limited++
			refusedBy[u] = true
		default:
			t.Fatalf("rpm key on %s: %d", u, code)
		}
	}
	if ok != rpmLimit || limited != 5 {
		t.Errorf("rpm %d key, %d requests over 3 instances: %d × 200 and %d × 429, want %d and 5",
			rpmLimit, rpmLimit+5, ok, limited, rpmLimit)
	}
	if len(refusedBy) != 3 {
		t.Errorf("429s came from %d instances, want all 3: %v", len(refusedBy), refusedBy)
	}

	// Request logs from every instance land in the one PostgreSQL.
	within(t, 10*time.Second, func() bool {
		_, logs := do(t, "GET", lb+"/admin/v1/logs?key_id=bench-0001&limit=100", adminToken, "")
		data, _ := logs["data"].([]any)
		return len(data) >= 30
	})

	if out, rc := script("status"); rc != 0 {
		t.Errorf("run.sh status while up: exit %d\n%s", rc, out)
	}
	pids := readPids(t, state)
	if out, rc := script("down"); rc != 0 {
		t.Fatalf("run.sh down: exit %d\n%s", rc, out)
	}
	for name, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("%s (pid %d) still runs after run.sh down", name, pid)
		}
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("state directory still there after down: %v", err)
	}
	if out, rc := script("status"); rc != 1 {
		t.Errorf("run.sh status after down: exit %d, want 1\n%s", rc, out)
	}
}

// requireTools skips the test (or fails it under
// SLUICE_TEST_REQUIRE_SERVICES=1) when the machine lacks what run.sh needs.
func requireTools(t *testing.T) {
	t.Helper()
	missing := func(msg string) {
		t.Helper()
		if os.Getenv("SLUICE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s, and SLUICE_TEST_REQUIRE_SERVICES=1 requires this test to run", msg)
		}
		t.Skipf("%s: skipping (install redis-server, postgresql and nginx-light to run it)", msg)
	}
	if runtime.GOOS != "linux" {
		missing("run.sh needs Linux")
	}
	for _, tool := range []string{"bash", "curl", "redis-server"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing(tool + " not found")
		}
	}
	initdb, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if _, err := exec.LookPath("initdb"); err != nil && len(initdb) == 0 {
		missing("initdb not found in /usr/lib/postgresql/*/bin or on PATH")
	}
	if os.Geteuid() == 0 {
		if _, err := exec.Command("id", "postgres").Output(); err != nil {
			missing("running as root without a postgres OS user to run PostgreSQL as")
		}
	}
	_, err := exec.LookPath("nginx")
	if _, serr := os.Stat("/usr/sbin/nginx"); err != nil && serr != nil {
		// run.sh up installs nginx-light, as root with apt-get.
		if _, aerr := exec.LookPath("apt-get"); os.Geteuid() != 0 || aerr != nil {
			missing("nginx not found and run.sh cannot install it (needs root and apt-get)")
		}
	}
}

// scriptEnv is the test's environment without run.sh's variables, plus set.
func scriptEnv(set map[string]string) []string {
	drop := map[string]bool{"SLUICE_UPSTREAM": true, "INSTANCE_PORTS": true, "REDIS_PORT": true, "PG_PORT": true}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] && set[k] == "" {
			env = append(env, kv)
		}
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

// runScript runs run.sh ARG and returns its output and exit status. The
// output goes to a file, not a pipe, so that a daemon keeping an inherited
// descriptor open cannot hold the test.
func runScript(t *testing.T, ctx context.Context, env []string, tmp, arg string) (string, int) {
	t.Helper()
	f, err := os.CreateTemp(tmp, "run-"+arg+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, "bash", "run.sh", arg)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, f, f
	err = cmd.Run()
	out, _ := os.ReadFile(f.Name())
	if err == nil {
		return string(out), 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	t.Fatalf("run.sh %s: %v\n%s", arg, err, out)
	return "", -1
}

// readState parses ports.env (KEY=VALUE lines, values maybe quoted).
func readState(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = strings.Trim(v, `"`)
		}
	}
	return m
}

// readPids reads the pid files run.sh wrote for what it started.
func readPids(t *testing.T, state string) map[string]int {
	t.Helper()
	pids := map[string]int{}
	for _, name := range []string{"sluice-1", "sluice-2", "sluice-3", "mock", "redis", "nginx/nginx"} {
		b, err := os.ReadFile(filepath.Join(state, name+".pid"))
		if err != nil {
			t.Errorf("pid file of %s: %v", name, err)
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Errorf("pid file of %s: %v", name, err)
			continue
		}
		pids[name] = pid
	}
	return pids
}

var client = &http.Client{Timeout: 10 * time.Second}

// chat sends one chat completion with key and returns the status and the
// instance nginx says served it (empty when sent to an instance directly).
func chat(t *testing.T, base, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/chat/completions", strings.NewReader(chatBody))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", base, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-LB-Upstream")
}

// do sends an admin request and decodes the JSON answer, if any.
func do(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// within polls cond every 50 ms and returns how long it took to hold;
// the test fails when it does not hold within limit.
func within(t *testing.T, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("condition not met within %v", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start).Round(time.Millisecond)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
