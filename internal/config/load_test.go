package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest valid config; tests append to it. It is 8 lines
// long, so appended text starts on line 9.
const minimal = `providers:
  - name: openai
    kind: openai
    base_url: http://127.0.0.1:9000/v1
models:
  - name: gpt-4o-mini
    targets:
      - provider: openai
`

// problems parses src as t.yaml and returns its problems as strings without
// the file name, failing the test if the error is not Errors.
func problems(t *testing.T, src string, env map[string]string) []string {
	t.Helper()
	c, err := Parse("t.yaml", []byte(src), testEnv(env))
	if err == nil {
		return nil
	}
	if c != nil {
		t.Errorf("Parse returned a Config together with an error")
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("Parse error is %T, want Errors: %v", err, err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		if e.File != "t.yaml" {
			t.Errorf("error %q has file %q", e.Error(), e.File)
		}
		out[i] = strings.TrimPrefix(e.Error(), "t.yaml:")
	}
	return out
}

// mustParse parses src and fails the test on any problem.
func mustParse(t *testing.T, src string, env map[string]string) *Config {
	t.Helper()
	c, err := Parse("t.yaml", []byte(src), testEnv(env))
	if err != nil {
		t.Fatalf("Parse: unexpected problems:\n%v", err)
	}
	return c
}

func checkProblems(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n  got:  %s\n  want: %s", strings.Join(got, "\n        "), strings.Join(want, "\n        "))
	}
}

func TestDecodeProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want []string
	}{
		{"unknown top-level field", minimal + "foo: 1\n",
			nil, []string{`9:1: unknown field "foo"`}},
		{"unknown nested field", minimal + "server:\n  listen: 127.0.0.1:1\n  lissen: x\n",
			nil, []string{`11:3: server: unknown field "lissen"`}},
		{"unknown field in list entry", "providers:\n  - name: openai\n    kind: openai\n    bse_url: http://x/v1\n" + minimal[strings.Index(minimal, "models:"):],
			nil, []string{`2:5: providers[0].base_url: required: the API root, such as "https://api.openai.com/v1"`, `4:5: providers[0]: unknown field "bse_url"`}},
		{"duration without unit", minimal + "server:\n  read_timeout: 30\n",
			nil, []string{`10:17: server.read_timeout: duration "30" needs a unit, such as "30s" or "500ms" (a bare number is not accepted)`}},
		{"bad duration", minimal + "server:\n  idle_timeout: abc\n",
			nil, []string{`10:17: server.idle_timeout: expected a duration such as "30s", got "abc"`}},
		{"bad size", minimal + "server:\n  max_request_body: lots\n",
			nil, []string{`10:21: server.max_request_body: expected a size in bytes or with a unit such as "64KiB", "32MiB" or "10MB", got "lots"`}},
		{"bad int", strings.Replace(minimal, "kind: openai\n", "kind: openai\n    max_conns: many\n", 1),
			nil, []string{`4:16: providers[0].max_conns: expected an integer, got "many"`}},
		{"int out of range", strings.Replace(minimal, "kind: openai\n", "kind: openai\n    max_conns: 99999999999999999999\n", 1),
			nil, []string{`4:16: providers[0].max_conns: integer "99999999999999999999" is out of range`}},
		{"bad bool", strings.Replace(minimal, "kind: openai\n", "kind: openai\n    include_usage: yes\n", 1),
			nil, []string{`4:20: providers[0].include_usage: expected true or false, got "yes"`}},
		{"env value not quoted", minimal + "server:\n  read_timeout: ${RT}\n",
			map[string]string{"RT": "soon"}, []string{`10:17: server.read_timeout: "${RT}" expands to a value that is not a duration with a unit, such as "30s"`}},
		{"env value not quoted in list", strings.Replace(minimal, "kind: openai\n", "kind: openai\n    max_conns: x${N}\n", 1),
			map[string]string{"N": "sk-secret"}, []string{`4:16: providers[0].max_conns: "x${N}" expands to a value that is not an integer in range`}},
		{"list expected", "providers: openai\n",
			nil, []string{`1:12: providers: expected a list, got a string`}},
		{"mapping expected", minimal + "server: [a, b]\n",
			nil, []string{`9:9: server: expected a mapping, got a list`}},
		{"mapping expected in list", minimal + "  - just-a-name\n",
			nil, []string{`9:5: models[1]: expected a mapping, got a string`}},
		{"empty list entry", minimal + "  -\n",
			nil, []string{`9:3: models[1]: expected a mapping, got an empty list entry`}},
		{"entries after a broken one keep their index", minimal + "  -\n  - name: x\n    targets: [{provider: nope}]\n",
			nil, []string{`9:3: models[1]: expected a mapping, got an empty list entry`, `11:26: models[2].targets[0].provider: unknown provider "nope"`}},
		{"scalar expected", minimal + "log:\n  level: [debug]\n",
			nil, []string{`10:10: log.level: expected a single value, got a list`}},
		{"scalar expected got mapping", minimal + "data_dir:\n  path: x\n",
			nil, []string{`10:3: data_dir: expected a single value, got a mapping`}},
		{"top level not a mapping", "- a\n- b\n",
			nil, []string{`1:1: expected a mapping, got a list`}},
		{"duplicate key", minimal + "log:\n  level: info\n  level: debug\n",
			nil, []string{`11:3: log.level: duplicate key "level" (first at 10:3)`}},
		{"duplicate top-level key", minimal + "models: []\n",
			nil, []string{`9:1: models: duplicate key "models" (first at 5:1)`}},
		{"syntax error", "providers: [a,\nmodels: 1\n",
			nil, []string{`1:12: invalid YAML: sequence end token ']' not found`}},
		{"bad indentation", "server:\n  listen: a\n bad: 1\n",
			nil, []string{`3:2: invalid YAML: value is not allowed in this context`}},
		{"two documents", minimal + "---\nlog: {level: info}\n",
			nil, []string{`9:1: found a second YAML document; a config file holds one`}},
		{"unknown alias", minimal + "data_dir: *nowhere\n",
			nil, []string{`9:11: data_dir: unknown anchor "nowhere" (an alias must follow its anchor)`}},
		{"custom tag", minimal + "data_dir: !secret x\n",
			nil, []string{`9:11: data_dir: unsupported tag "!secret"`}},
		{"bad env syntax", minimal + "data_dir: ${DIR\n",
			nil, []string{`9:11: data_dir: unterminated "${": want ${NAME} or ${NAME:-default}`}},
		{"bad env name", minimal + "data_dir: /x/${1DIR}\n",
			nil, []string{`9:11: data_dir: invalid variable name "1DIR": it must start with a letter or "_"`}},
		{"bad env in list entry", strings.Replace(minimal, "kind: openai\n", "kind: openai\n    api_keys: [ok, \"${K:?}\"]\n", 1),
			nil, []string{`4:20: providers[0].api_keys[1]: invalid reference starting "${K:?": want ${NAME} or ${NAME:-default}, NAME made of letters, digits and "_"`}},
		{"keys are not expanded", minimal + "${KEY}: 1\n",
			map[string]string{"KEY": "log"}, []string{`9:1: unknown field "${KEY}"`}},
		{"merge of a scalar", minimal + "log:\n  <<: text\n",
			nil, []string{`10:3: log: merge key (<<) needs a mapping or a list of mappings, got a string`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, problems(t, tt.src, tt.env), tt.want)
		})
	}
}

// TestAllProblemsReported checks that one file with many problems of every
// stage (decoding, expansion, validation) gets all of them, sorted.
func TestAllProblemsReported(t *testing.T) {
	src := `server:
  listen: nowhere
  write_timeout: 5
providers:
  - name: openai
    kind: openai
    base_url: http://127.0.0.1:9000/v1
    colour: red
  - name: openai
    kind: vertex
    base_url: ${BASE
models:
  - name: m
    targets:
      - provider: openi
log:
  level: loud
`
	checkProblems(t, problems(t, src, nil), []string{
		`2:11: server.listen: invalid address "nowhere": want host:port, such as "127.0.0.1:8080"`,
		`3:18: server.write_timeout: duration "5" needs a unit, such as "30s" or "500ms" (a bare number is not accepted)`,
		`8:5: providers[0]: unknown field "colour"`,
		`9:11: providers[1].name: duplicate provider name "openai" (first at 5:11)`,
		`10:11: providers[1].kind: unknown kind "vertex": want openai, azure, anthropic, gemini or bedrock`,
		`11:15: providers[1].base_url: unterminated "${": want ${NAME} or ${NAME:-default}`,
		`15:19: models[0].targets[0].provider: unknown provider "openi"`,
		`17:10: log.level: unknown level "loud": want debug, info, warn or error`,
	})
}

func TestTooManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimal)
	for i := range maxErrors + 20 {
		fmt.Fprintf(&b, "unknown%d: x\n", i)
	}
	got := problems(t, b.String(), nil)
	if len(got) != maxErrors+1 {
		t.Fatalf("got %d problems, want %d", len(got), maxErrors+1)
	}
	if last := got[len(got)-1]; last != " and 20 more problems" {
		t.Errorf("last line = %q", last)
	}
}

func TestExpansion(t *testing.T) {
	src := `server:
  listen: ${LISTEN:-127.0.0.1:7000}
  read_timeout: ${UNSET}
  max_request_body: ${BODY}
admin:
  token: ${TOKEN}
data_dir: "${DATA:-/var/lib/sluice}/$$HOME"
log:
  level: "${LEVEL}"
providers:
  - name: openai
    kind: ${KIND:-openai}
    base_url: ${UPSTREAM:-http://127.0.0.1:9000}/v1
    api_keys: ["${UNSET}", "${KEY1}", "", "${EMPTY}", "${KEY2:-sk-default}"]
    include_usage: ${UNSET}
    headers:
      allow: [x-trace-id, "${UNSET}", "${HDR}"]
models:
  - name: m
    targets:
      - provider: openai
        weight: ${UNSET}
        model: ${MODEL:-upstream-m}
`
	env := map[string]string{"BODY": "1MiB", "KEY1": "sk-one", "EMPTY": "", "HDR": "x-team", "TOKEN": "", "LISTEN": ""}
	c := mustParse(t, src, env)
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen default from ${:-}", c.Server.Listen, "127.0.0.1:7000"},
		{"unset duration keeps its default", c.Server.ReadTimeout.D(), DefaultReadTimeout},
		{"size from env", c.Server.MaxRequestBody, ByteSize(1 << 20)},
		{"empty token is not configured", c.Admin.Token.Reveal(), ""},
		{"$$ is a dollar", c.DataDir, "/var/lib/sluice/$HOME"},
		{"empty level gets the default", c.Log.Level, DefaultLogLevel},
		{"kind default", c.Providers[0].Kind, KindOpenAI},
		{"base url default", c.Providers[0].BaseURL, "http://127.0.0.1:9000/v1"},
		{"empty keys dropped", fmt.Sprint(len(c.Providers[0].APIKeys)), "2"},
		{"first key", c.Providers[0].APIKeys[0].Key.Reveal(), "sk-one"},
		{"second key", c.Providers[0].APIKeys[1].Key.Reveal(), "sk-default"},
		{"include_usage unset is nil", c.Providers[0].IncludeUsage == nil, true},
		{"usage injection on by default", c.Providers[0].UsageInjection(), true},
		{"header list drops empties", strings.Join(c.Providers[0].Headers.Allow, ","), "x-trace-id,x-team"},
		{"unset weight defaults to 1", c.Models[0].Targets[0].Weight, 1},
		{"model from default", c.Models[0].Targets[0].Model, "upstream-m"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: got %v (%T), want %v (%T)", ck.name, ck.got, ck.got, ck.want, ck.want)
		}
	}
}

// TestEmptyListEntryPositions checks that after empty entries are dropped,
// problems in the entries kept still point at their own lines.
func TestEmptyListEntryPositions(t *testing.T) {
	src := strings.Replace(minimal, "kind: openai\n", "kind: openai\n    headers:\n      deny:\n        - ${UNSET}\n        - x-ok\n        - bad header\n", 1)
	checkProblems(t, problems(t, src, nil), []string{`8:11: providers[0].headers.deny[1]: invalid header name "bad header"`})
}

func TestDefaults(t *testing.T) {
	src := `providers:
  - name: anth
    kind: anthropic
    base_url: https://api.anthropic.com/v1/
  - name: oai
    kind: openai
    base_url: https://api.openai.com/v1
    include_usage: false
    max_conns: 10
    timeouts: {connect: 1s}
models:
  - name: m
    targets:
      - provider: oai
        weight: 0
      - provider: anth
        weight: 3
      - provider: oai
        model: other
`
	c := mustParse(t, src, nil)
	s := c.Server
	if s.Listen != DefaultListen || s.MaxRequestBody != DefaultMaxRequestBody || s.MaxHeaderBytes != DefaultMaxHeaderBytes ||
		s.ReadTimeout.D() != DefaultReadTimeout || s.WriteTimeout.D() != DefaultWriteTimeout ||
		s.IdleTimeout.D() != DefaultIdleTimeout || s.ShutdownGrace.D() != DefaultShutdownGrace || s.ShutdownDelay != 0 {
		t.Errorf("server defaults not applied: %+v", s)
	}
	if c.DataDir != DefaultDataDir || c.Log.Level != DefaultLogLevel || c.Log.Format != DefaultLogFormat {
		t.Errorf("data_dir/log defaults not applied: %q %+v", c.DataDir, c.Log)
	}
	a, o := c.Providers[0], c.Providers[1]
	if a.AnthropicVersion != DefaultAnthropicVersion || o.AnthropicVersion != "" {
		t.Errorf("anthropic_version = %q, %q", a.AnthropicVersion, o.AnthropicVersion)
	}
	if a.BaseURL != "https://api.anthropic.com/v1" {
		t.Errorf("trailing slash not trimmed: %q", a.BaseURL)
	}
	if a.MaxConns != DefaultMaxConns || o.MaxConns != 10 {
		t.Errorf("max_conns = %d, %d", a.MaxConns, o.MaxConns)
	}
	wantT := Timeouts{Duration(DefaultConnectTimeout), Duration(DefaultFirstByteTimeout), Duration(DefaultIdleReadTimeout), Duration(DefaultTotalTimeout)}
	if a.Timeouts != wantT {
		t.Errorf("timeouts = %+v, want %+v", a.Timeouts, wantT)
	}
	if o.Timeouts.Connect.D() != time.Second || o.Timeouts.Total.D() != DefaultTotalTimeout {
		t.Errorf("partial timeouts = %+v", o.Timeouts)
	}
	if o.UsageInjection() || !a.UsageInjection() {
		t.Errorf("UsageInjection = %v, %v", o.UsageInjection(), a.UsageInjection())
	}
	ts := c.Models[0].Targets
	if ts[0].Weight != 0 || ts[1].Weight != 3 || ts[2].Weight != 1 {
		t.Errorf("weights = %d %d %d, want 0 (explicit) 3 1 (default)", ts[0].Weight, ts[1].Weight, ts[2].Weight)
	}
	if ts[0].Model != "m" || ts[2].Model != "other" {
		t.Errorf("target models = %q %q", ts[0].Model, ts[2].Model)
	}
	if c.Passthrough.Provider != "oai" {
		t.Errorf("passthrough default = %q, want the first openai provider", c.Passthrough.Provider)
	}
}

func TestAnchorsAndMerge(t *testing.T) {
	src := `x-timeouts: &t {connect: 2s, total: 30s}
providers:
  - &base
    name: one
    kind: openai
    base_url: http://127.0.0.1:9000/v1
    timeouts: *t
  - <<: *base
    name: two
    max_conns: 7
models:
  - name: m
    targets: [{provider: one}, {provider: two, weight: 2}]
`
	// The x- key is an unknown field: anchors must be defined under known keys.
	checkProblems(t, problems(t, src, nil), []string{`1:1: unknown field "x-timeouts"`})

	src = strings.Replace(src, "x-timeouts: &t {connect: 2s, total: 30s}\n", "", 1)
	src = strings.Replace(src, "    timeouts: *t\n", "    timeouts: {connect: 2s, total: 30s}\n", 1)
	c := mustParse(t, src, nil)
	one, two := c.Providers[0], c.Providers[1]
	if two.Name != "two" || two.Kind != KindOpenAI || two.BaseURL != one.BaseURL || two.MaxConns != 7 || two.Timeouts.Connect.D() != 2*time.Second {
		t.Errorf("merged provider = %+v", two)
	}
	if c.Models[0].Targets[1].Weight != 2 {
		t.Errorf("flow-style targets = %+v", c.Models[0].Targets)
	}
}

// TestProblemsNeverShowSecrets puts secret values where they do not belong
// and checks that no message quotes them.
func TestProblemsNeverShowSecrets(t *testing.T) {
	const secret = "sk-very-secret-value"
	for _, src := range []string{
		strings.Replace(minimal, "kind: openai\n", "kind: openai\n    api_keys: "+secret+"\n", 1),
		strings.Replace(minimal, "kind: openai\n", "kind: openai\n    api_keys: [[\""+secret+"\"]]\n", 1),
		strings.Replace(minimal, "kind: openai\n", "kind: openai\n    api_keys: [\""+secret+" \"]\n", 1),
		minimal + "admin:\n  token: {" + secret + ": 1}\n",
		minimal + "admin:\n  token: \"" + secret + "\\n\"\n",
		minimal + "admin:\n  token: ${TOKEN-" + secret + "}\n",
		strings.Replace(minimal, "http://127.0.0.1:9000/v1", "http://user:"+secret+"@127.0.0.1:9000/v1?key="+secret, 1),
		strings.Replace(minimal, "http://127.0.0.1:9000/v1", "http://127.0.0.1:9000/v1?key="+secret, 1),
		strings.Replace(minimal, "kind: openai\n", "kind: openai\n    proxy: socks5://u:"+secret+"@proxy\n", 1),
	} {
		got := problems(t, src, nil)
		if len(got) == 0 {
			t.Errorf("no problem reported for:\n%s", src)
		}
		for _, p := range got {
			if strings.Contains(p, secret) {
				t.Errorf("problem quotes the secret: %s", p)
			}
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(good)
	if err != nil || len(c.Providers) != 1 {
		t.Fatalf("Load(good) = %+v, %v", c, err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(minimal+"nope: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Error() != bad+`:9:1: unknown field "nope"` {
		t.Fatalf("Load(bad) error = %v", err)
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || errors.As(err, &es) {
		t.Fatalf("Load(missing) error = %#v, want a wrapped fs.ErrNotExist", err)
	}
}

func TestEmptyFile(t *testing.T) {
	for _, src := range []string{"", "# just a comment\n", "---\n"} {
		checkProblems(t, problems(t, src, nil), []string{`1:1: providers: no providers configured: want at least one`})
	}
}
