package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// benchEnv is the environment the bench harness sets; every shipped config
// must load with it.
func benchEnv() map[string]string {
	return map[string]string{
		"SLUICE_LISTEN":            "127.0.0.1:18080",
		"SLUICE_UPSTREAM":          "http://127.0.0.1:19000",
		"SLUICE_FALLBACK_UPSTREAM": "http://127.0.0.1:19001",
		"SLUICE_ADMIN_TOKEN":       "bench-admin-token",
		"SLUICE_DATA_DIR":          "", // set per test to a temporary directory
		"SLUICE_POSTGRES_URL":      "postgres://sluice@127.0.0.1:5432/sluice?sslmode=disable",
		"SLUICE_REDIS_URL":         "redis://127.0.0.1:6379/0",
		"SLUICE_MOCK_LISTEN":       "127.0.0.1:19000",
		"OPENAI_API_KEY":           "sk-test-openai",
		"ANTHROPIC_API_KEY":        "sk-test-anthropic",
	}
}

// needsEnv names the variable a shipped config cannot load without, for the
// configs that cannot load with an empty environment. Add a case only when
// the design says so (L3 requires PostgreSQL).
func needsEnv(file string) (string, bool) {
	switch file {
	case "l3.yaml", "multi-instance/sluice.yaml":
		return "SLUICE_POSTGRES_URL", true
	}
	return "", false
}

// TestShippedConfigs loads every config under examples/ and bench/configs/
// with an empty environment and with the bench environment, so that a
// config added later is covered without touching this test.
func TestShippedConfigs(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../../examples/*.yaml", "../../examples/*/*.yaml", "../../bench/configs/*.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no shipped configs found")
	}
	for _, f := range files {
		name := filepath.Base(f)
		if d := filepath.Base(filepath.Dir(f)); d != "examples" && d != "configs" {
			name = d + "/" + name // examples/multi-instance/sluice.yaml
		}
		t.Run(name, func(t *testing.T) {
			env := benchEnv()
			env["SLUICE_DATA_DIR"] = t.TempDir()
			t.Run("bench env", func(t *testing.T) {
				c, err := Parse(f, readFile(t, f), testEnv(env))
				if err != nil {
					t.Fatalf("problems:\n%v", err)
				}
				if strings.Contains(f, "bench/configs/") {
					checkBenchContract(t, f, c, env)
				}
			})
			t.Run("empty env", func(t *testing.T) {
				if v, ok := needsEnv(name); ok {
					_, err := Parse(f, readFile(t, f), testEnv(nil))
					if err == nil || !strings.Contains(err.Error(), v) {
						t.Fatalf("loads without %s, or fails without naming it: %v", v, err)
					}
					return
				}
				if _, err := Parse(f, readFile(t, f), testEnv(nil)); err != nil {
					t.Fatalf("problems:\n%v", err)
				}
			})
		})
	}
}

// checkBenchContract checks what DESIGN.md promises of every bench config:
// the env variables it reads, and the two public models on the upstream.
// A translated tier (l1-translated.yaml) serves gpt-4o-mini from an
// Anthropic-format provider: that swap is what it measures.
func checkBenchContract(t *testing.T, file string, c *Config, env map[string]string) {
	t.Helper()
	if c.Server.Listen != env["SLUICE_LISTEN"] {
		t.Errorf("listen = %q, want SLUICE_LISTEN", c.Server.Listen)
	}
	if c.Admin.Token.Reveal() != env["SLUICE_ADMIN_TOKEN"] {
		t.Errorf("admin token does not come from SLUICE_ADMIN_TOKEN")
	}
	if c.DataDir != env["SLUICE_DATA_DIR"] {
		t.Errorf("data_dir = %q, want SLUICE_DATA_DIR", c.DataDir)
	}
	kinds := map[string]string{}
	for _, p := range c.Providers {
		kinds[p.Name] = p.Kind
		if !strings.HasPrefix(p.BaseURL, env["SLUICE_UPSTREAM"]) && !strings.HasPrefix(p.BaseURL, env["SLUICE_FALLBACK_UPSTREAM"]) {
			t.Errorf("provider %s base_url %q is not under SLUICE_UPSTREAM", p.Name, p.BaseURL)
		}
	}
	chatKind := KindOpenAI
	if strings.HasSuffix(file, "-translated.yaml") {
		chatKind = KindAnthropic
	}
	for _, want := range []struct{ model, kind string }{{"gpt-4o-mini", chatKind}, {"claude-3-5-haiku", KindAnthropic}} {
		found := false
		for _, m := range c.Models {
			if m.Name == want.model {
				found = true
				if k := kinds[m.Targets[0].Provider]; k != want.kind {
					t.Errorf("model %s routes to a provider of kind %q, want %s", want.model, k, want.kind)
				}
			}
		}
		if !found {
			t.Errorf("public model %s missing", want.model)
		}
	}
}

func TestL0(t *testing.T) {
	c, err := Parse("l0.yaml", readFile(t, "../../bench/configs/l0.yaml"), testEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "127.0.0.1:8080" || c.Admin.Token.Reveal() != "dev-admin-token" || c.DataDir != "./data" || c.Log.Level != "warn" {
		t.Errorf("defaults from the environment: %+v", c)
	}
	for _, p := range c.Providers {
		if p.BaseURL != "http://127.0.0.1:9000/v1" || len(p.APIKeys) != 1 || p.APIKeys[0].Key.Reveal() != "sk-mock" {
			t.Errorf("provider %s: base_url %q, %d keys", p.Name, p.BaseURL, len(p.APIKeys))
		}
	}
	if c.Passthrough.Provider != "openai" || c.Mock.Listen != "" {
		t.Errorf("passthrough %q, mock %q", c.Passthrough.Provider, c.Mock.Listen)
	}
}

func TestQuickstart(t *testing.T) {
	c, err := Parse("quickstart.yaml", readFile(t, "../../examples/quickstart.yaml"), testEnv(map[string]string{"OPENAI_API_KEY": "sk-real"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mock.Listen != "127.0.0.1:9000" || c.Server.Listen != "127.0.0.1:8080" || c.Log.Level != "info" {
		t.Errorf("quickstart: mock %q, listen %q, level %q", c.Mock.Listen, c.Server.Listen, c.Log.Level)
	}
	for _, p := range c.Providers {
		if p.BaseURL != "http://127.0.0.1:9000/v1" {
			t.Errorf("provider %s does not point at the mock: %q", p.Name, p.BaseURL)
		}
		if len(p.APIKeys) != 0 {
			t.Errorf("provider %s sends a key to the mock", p.Name)
		}
	}
	var names []string
	for _, m := range c.Models {
		names = append(names, m.Name)
	}
	if got := strings.Join(names, ","); got != "gpt-4o-mini,gpt-4o,claude-3-5-haiku,text-embedding-3-small" {
		t.Errorf("models = %s", got)
	}
}

// TestQuickstartPorts: SLUICE_LISTEN and SLUICE_MOCK_LISTEN move the
// quick start's two listeners (README), and the providers follow the mock.
func TestQuickstartPorts(t *testing.T) {
	tests := []struct {
		name               string
		env                map[string]string
		listen, mockListen string
	}{
		{"defaults", nil, "127.0.0.1:8080", "127.0.0.1:9000"},
		{"moved", map[string]string{"SLUICE_LISTEN": "127.0.0.1:18080", "SLUICE_MOCK_LISTEN": "127.0.0.1:19000"}, "127.0.0.1:18080", "127.0.0.1:19000"},
		{"empty means default", map[string]string{"SLUICE_LISTEN": "", "SLUICE_MOCK_LISTEN": ""}, "127.0.0.1:8080", "127.0.0.1:9000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("quickstart.yaml", readFile(t, "../../examples/quickstart.yaml"), testEnv(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Server.Listen != tt.listen || c.Mock.Listen != tt.mockListen {
				t.Errorf("listen %q, mock %q; want %q, %q", c.Server.Listen, c.Mock.Listen, tt.listen, tt.mockListen)
			}
			for _, p := range c.Providers {
				if want := "http://" + tt.mockListen + "/v1"; p.BaseURL != want {
					t.Errorf("provider %s: base_url %q, want %q", p.Name, p.BaseURL, want)
				}
			}
		})
	}
}
