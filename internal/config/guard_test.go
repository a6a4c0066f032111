package config

import (
	"strings"
	"testing"
)

func TestGuardrailsConfig(t *testing.T) {
	// minimal ends at line 8; these blocks start on line 9.
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"a valid set", minimal + `guardrails:
  sets:
    - name: pii
      rules:
        - {name: ssn, kind: ssn, scope: input}
        - {name: email, kind: email, action: redact}
        - {name: ticket, kind: regex, pattern: 'TICK-[0-9]{6}', max_len: 11, action: flag}
        - {name: banned, kind: keywords, words: [foo, "bar baz"], whole_words: false}
        - {name: size, kind: max_chars, limit: 100000}
`, nil},
		{"rule problems", minimal + `guardrails:
  sets:
    - name: pii
      rules:
        - {name: a, kind: regexp}
        - {name: b, kind: regex, pattern: '(unclosed'}
        - {name: c, kind: regex, pattern: 'x*'}
        - {name: d, kind: keywords}
        - {name: e, kind: max_chars, action: redact, scope: both}
        - {name: f, kind: email, action: deny, pattern: x}
        - {name: a, kind: ssn, whole_words: true}
`, []string{
			`13:27: guardrails.sets[0].rules[0].kind: unknown kind "regexp": want regex, keywords, max_chars, max_messages or a builtin (credit_card, email, iban, ip, phone, secrets, ssn)`,
			`14:43: guardrails.sets[0].rules[1].pattern: invalid regular expression: missing closing ): ` + "`(unclosed`",
			`15:43: guardrails.sets[0].rules[2].pattern: matches the empty string: every text would match`,
			`16:11: guardrails.sets[0].rules[3].words: required: a list of literals`,
			`17:11: guardrails.sets[0].rules[4].limit: must be positive, got 0`,
			`17:46: guardrails.sets[0].rules[4].action: a max_chars rule cannot redact: want block or flag`,
			`17:61: guardrails.sets[0].rules[4].scope: a max_chars rule applies to input only`,
			`18:42: guardrails.sets[0].rules[5].action: unknown action "deny": want block, redact or flag`,
			`18:57: guardrails.sets[0].rules[5].pattern: not used by kind email`,
			`19:18: guardrails.sets[0].rules[6].name: duplicate rule name "a" in set "pii" (first at 13:18)`,
			`19:45: guardrails.sets[0].rules[6].whole_words: only keywords rules have whole_words`,
		}},
		{"unknown set on a model", minimal + "guardrails:\n  sets:\n    - name: pii\n      rules: [{name: e, kind: email}]\n" +
			"    - name: pii\n      rules: [{name: e, kind: email}]\n",
			[]string{`13:13: guardrails.sets[1].name: duplicate set name "pii" (first at 11:13)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, problems(t, tt.src, nil), tt.want)
		})
	}
	t.Run("model names an unknown set", func(t *testing.T) {
		src := strings.Replace(minimal, "    targets:\n", "    guardrails: [pii, nope]\n    targets:\n", 1) +
			"guardrails:\n  sets:\n    - name: pii\n      rules: [{name: e, kind: email}]\n"
		checkProblems(t, problems(t, src, nil), []string{
			`7:23: models[0].guardrails[1]: unknown guardrail set "nope"; configured sets: "pii"`,
		})
	})
	t.Run("defaults", func(t *testing.T) {
		c, err := Parse("t.yaml", []byte(minimal+"guardrails:\n  sets:\n    - name: pii\n      rules:\n"+
			"        - {name: e, kind: email}\n        - {name: r, kind: regex, pattern: x+}\n"+
			"        - {name: k, kind: keywords, words: [a]}\n        - {name: s, kind: max_messages, limit: 3}\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		g := c.Guardrails
		if g.ScanLimit != DefaultScanLimit {
			t.Errorf("scan_limit = %s", g.ScanLimit)
		}
		r := g.Sets[0].Rules
		if r[0].Action != GuardBlock || r[0].Scope != GuardBoth || r[1].MaxLen != DefaultGuardMaxLen ||
			r[2].WholeWords == nil || !*r[2].WholeWords || r[3].Scope != GuardInput {
			t.Errorf("defaults not applied: %+v", r)
		}
	})
}

func TestTelemetryConfig(t *testing.T) {
	checkProblems(t, problems(t, minimal+"telemetry:\n  enabled: true\n  log_bodies: all\n  flush_interval: 1m\n  batch_size: 200000\n  spool_max: 1KiB\n", nil), []string{
		`11:15: telemetry.log_bodies: unknown value "all": want none, request or full`,
		`12:19: telemetry.flush_interval: must be between 1ms and 10s, got 1m0s`,
		`13:15: telemetry.batch_size: must be between 1 and 100000, got 200000`,
		`14:14: telemetry.spool_max: must be at least 1MiB, got 1KiB`,
	})
	c, err := Parse("t.yaml", []byte(minimal+"telemetry:\n  enabled: true\n  retention: 0s\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tm := c.Telemetry
	if !tm.Enabled || tm.Retention == nil || *tm.Retention != 0 || tm.Dedup == nil || !*tm.Dedup ||
		tm.FlushInterval.D() != DefaultFlushInterval || tm.LogBodies != "none" {
		t.Errorf("telemetry defaults: %+v", tm)
	}
}

func TestTracingConfig(t *testing.T) {
	checkProblems(t, problems(t, minimal+"tracing:\n  endpoint: localhost:4318\n  sample_ratio: 2\n", nil), []string{
		`10:13: tracing.endpoint: invalid URL "localhost:4318": want the http(s) URL of an OTLP/HTTP traces endpoint, such as http://127.0.0.1:4318/v1/traces`,
		`11:17: tracing.sample_ratio: must be between 0 and 1, got 2`,
	})
	c, err := Parse("t.yaml", []byte(minimal+"tracing:\n  endpoint: http://127.0.0.1:4318/v1/traces\n  headers: {x-api-key: s3cret}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr := c.Tracing; tr.SampleRatio == nil || *tr.SampleRatio != DefaultSampleRatio || tr.ServiceName != "sluice" || tr.Headers["x-api-key"].Reveal() != "s3cret" {
		t.Errorf("tracing: %+v", tr)
	}
	if c, err := Parse("t.yaml", []byte(minimal), nil); err != nil || c.Tracing.SampleRatio != nil {
		t.Errorf("tracing is on without an endpoint: %+v %v", c.Tracing, err)
	}
}
