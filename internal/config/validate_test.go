package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePEMPair writes a self-signed certificate and its key into dir and
// returns their paths.
func writePEMPair(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sluice-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = filepath.Join(dir, name+".crt")
	keyFile = filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// withProvider inserts lines (indented as provider fields) into the one
// provider of minimal, after its kind, so that they start on line 4.
func withProvider(lines string) string {
	return strings.Replace(minimal, "    kind: openai\n", "    kind: openai\n"+lines, 1)
}

func TestValidationRules(t *testing.T) {
	dir := t.TempDir()
	cert, key := writePEMPair(t, dir, "a")
	otherCert, _ := writePEMPair(t, dir, "b")
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not pem\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(dir, "file")
	if err := os.WriteFile(aFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")

	tests := []struct {
		name string
		src  string
		want []string
	}{
		// server
		{"listen without port", minimal + "server:\n  listen: localhost\n",
			[]string{`10:11: server.listen: invalid address "localhost": want host:port, such as "127.0.0.1:8080"`}},
		{"listen with bad port", minimal + "server:\n  listen: 127.0.0.1:99999\n",
			[]string{`10:11: server.listen: invalid port "99999" in "127.0.0.1:99999": want a number from 0 to 65535`}},
		{"listen with named port", minimal + "server:\n  listen: \"[::1]:http\"\n",
			[]string{`10:11: server.listen: invalid port "http" in "[::1]:http": want a number from 0 to 65535`}},
		{"listen on all interfaces is fine", minimal + "server:\n  listen: :8080\n", nil},
		{"cert without key", minimal + "server:\n  tls:\n    cert_file: " + cert + "\n",
			[]string{`11:5: server.tls.key_file: required when cert_file is set`}},
		{"key without cert", minimal + "server:\n  tls:\n    key_file: " + key + "\n",
			[]string{`11:5: server.tls.cert_file: required when key_file is set`}},
		{"tls files missing", minimal + "server:\n  tls:\n    cert_file: " + missing + "\n    key_file: " + missing + "\n",
			[]string{`11:16: server.tls.cert_file: file "` + missing + `" does not exist`, `12:15: server.tls.key_file: file "` + missing + `" does not exist`}},
		{"tls file is a directory", minimal + "server:\n  tls:\n    cert_file: " + dir + "\n    key_file: " + key + "\n",
			[]string{`11:16: server.tls.cert_file: "` + dir + `" is not a regular file`}},
		{"tls pair mismatch", minimal + "server:\n  tls:\n    cert_file: " + otherCert + "\n    key_file: " + key + "\n",
			[]string{`11:5: server.tls: invalid certificate and key pair: tls: private key does not match public key`}},
		{"tls pair not pem", minimal + "server:\n  tls:\n    cert_file: " + junk + "\n    key_file: " + key + "\n",
			[]string{`11:5: server.tls: invalid certificate and key pair: tls: failed to find any PEM data in certificate input`}},
		{"tls pair ok", minimal + "server:\n  tls:\n    cert_file: " + cert + "\n    key_file: " + key + "\n", nil},
		{"body limit", minimal + "server:\n  max_request_body: 0B\n", nil},
		{"header limit too small", minimal + "server:\n  max_header_bytes: 512\n",
			[]string{`10:21: server.max_header_bytes: 512B is too small: at least 1KiB`}},
		{"header limit too large", minimal + "server:\n  max_header_bytes: 1GiB\n",
			[]string{`10:21: server.max_header_bytes: 1GiB is too large: at most 16MiB`}},
		{"negative server timeouts", minimal + "server:\n  read_timeout: -1s\n  shutdown_delay: -1ms\n",
			[]string{`10:17: server.read_timeout: must not be negative, got -1s`, `11:19: server.shutdown_delay: must not be negative, got -1ms`}},
		// admin, log, data_dir, mock
		{"admin token with a space", minimal + "admin:\n  token: \"dev token\"\n",
			[]string{`10:10: admin.token: contains whitespace, control or non-ASCII characters`}},
		{"log level", minimal + "log:\n  level: INFO\n",
			[]string{`10:10: log.level: unknown level "INFO": want debug, info, warn or error`}},
		{"log format", minimal + "log:\n  format: yaml\n",
			[]string{`10:11: log.format: unknown format "yaml": want text or json`}},
		{"data_dir is a file", minimal + "data_dir: " + aFile + "\n",
			[]string{`9:11: data_dir: "` + aFile + `" exists and is not a directory`}},
		{"data_dir may not exist yet", minimal + "data_dir: " + filepath.Join(dir, "new") + "\n", nil},
		{"mock listen", minimal + "mock:\n  listen: 9000\n",
			[]string{`10:11: mock.listen: invalid address "9000": want host:port, such as "127.0.0.1:8080"`}},
		{"mock on the gateway's address", minimal + "mock:\n  listen: 127.0.0.1:8080\n",
			[]string{`10:11: mock.listen: "127.0.0.1:8080" is also server.listen; the mock needs its own address`}},
		// providers
		{"no providers", "log: {level: info}\n",
			[]string{`1:1: providers: no providers configured: want at least one`}},
		{"empty providers", "providers: []\n",
			[]string{`1:12: providers: no providers configured: want at least one`}},
		{"provider without name", "providers:\n  - kind: openai\n    base_url: http://x/v1\n",
			[]string{`2:5: providers[0].name: required`}},
		{"provider name with slash", strings.Replace(minimal, "name: openai", "name: open/ai", 1),
			[]string{`2:11: providers[0].name: invalid provider name "open/ai": use letters, digits, ".", "_" and "-"`, `8:19: models[0].targets[0].provider: unknown provider "openai"`}},
		{"provider without kind", "providers:\n  - name: p\n    base_url: http://x/v1\n",
			[]string{`2:5: providers[0].kind: required: want openai, azure, anthropic, gemini or bedrock`}},
		{"unknown kind", strings.Replace(minimal, "kind: openai", "kind: vertex", 1),
			[]string{`3:11: providers[0].kind: unknown kind "vertex": want openai, azure, anthropic, gemini or bedrock`}},
		{"azure without api_version", strings.Replace(minimal, "kind: openai", "kind: azure", 1),
			[]string{`2:5: providers[0].api_version: required: Azure OpenAI's api-version, such as "2024-10-21"`}},
		{"api_version on openai", strings.Replace(minimal, "kind: openai", "kind: openai\n    api_version: 2024-10-21", 1),
			[]string{`4:18: providers[0].api_version: applies only to providers of kind azure`}},
		{"bedrock without region", "providers:\n  - name: b\n    kind: bedrock\n",
			[]string{`2:5: providers[0].region: required: the AWS region, such as "us-east-1"`}},
		{"bedrock bad region", "providers:\n  - name: b\n    kind: bedrock\n    region: Mars\n",
			[]string{`4:13: providers[0].region: invalid AWS region "Mars"`}},
		{"bedrock half credentials", "providers:\n  - name: b\n    kind: bedrock\n    region: us-east-1\n    access_key_id: AKIDEXAMPLE\n",
			[]string{`5:20: providers[0].access_key_id: access_key_id and secret_access_key go together: set both, or neither to read AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment`}},
		{"bedrock with api_keys", "providers:\n  - name: b\n    kind: bedrock\n    region: us-east-1\n    api_keys: [k]\n",
			[]string{`5:15: providers[0].api_keys: bedrock signs requests with AWS credentials: use access_key_id and secret_access_key (or the AWS environment), not api_keys`}},
		{"region on gemini", "providers:\n  - name: g\n    kind: gemini\n    base_url: http://x\n    region: us-east-1\n",
			[]string{`5:13: providers[0].region: applies only to providers of kind bedrock`}},
		{"base_url missing", "providers:\n  - name: p\n    kind: openai\n",
			[]string{`2:5: providers[0].base_url: required: the API root, such as "https://api.openai.com/v1"`}},
		{"base_url relative", strings.Replace(minimal, "http://127.0.0.1:9000/v1", "/v1", 1),
			[]string{`4:15: providers[0].base_url: want an absolute URL starting with http:// or https://`}},
		{"base_url without scheme", strings.Replace(minimal, "http://127.0.0.1:9000/v1", "api.openai.com/v1", 1),
			[]string{`4:15: providers[0].base_url: want an absolute URL starting with http:// or https://`}},
		{"base_url scheme", strings.Replace(minimal, "http://127.0.0.1:9000/v1", "ws://127.0.0.1/v1", 1),
			[]string{`4:15: providers[0].base_url: unsupported scheme "ws": want http or https`}},
		{"base_url without host", strings.Replace(minimal, "http://127.0.0.1:9000/v1", "http:///v1", 1),
			[]string{`4:15: providers[0].base_url: the URL has no host: want http://HOST[:PORT][/PATH]`}},
		{"base_url bad port", strings.Replace(minimal, "http://127.0.0.1:9000/v1", "http://127.0.0.1:0/v1", 1),
			[]string{`4:15: providers[0].base_url: invalid port "0" in the URL`}},
		{"base_url unparsable", strings.Replace(minimal, "http://127.0.0.1:9000/v1", "http://[::1/v1", 1),
			[]string{`4:15: providers[0].base_url: not a valid URL: missing ']' in host`}},
		{"base_url with credentials", strings.Replace(minimal, "http://127.0.0.1:9000/v1", "http://u:p@127.0.0.1/v1", 1),
			[]string{`4:15: providers[0].base_url: the URL must not contain credentials: put keys in api_keys`}},
		{"base_url with query", strings.Replace(minimal, "http://127.0.0.1:9000/v1", "http://127.0.0.1/v1?x=1", 1),
			[]string{`4:15: providers[0].base_url: the URL must not have a query string (?...)`}},
		{"base_url with fragment", strings.Replace(minimal, "http://127.0.0.1:9000/v1", "\"http://127.0.0.1/v1#x\"", 1),
			[]string{`4:15: providers[0].base_url: the URL must not have a fragment (#...)`}},
		{"api key with newline", withProvider("    api_keys: [\"sk-1\", \"sk-2\\n\"]\n"),
			[]string{`4:24: providers[0].api_keys[1]: contains whitespace, control or non-ASCII characters`}},
		{"anthropic_version on openai", withProvider("    anthropic_version: 2023-06-01\n"),
			[]string{`4:24: providers[0].anthropic_version: applies only to providers of kind anthropic`}},
		{"header names", withProvider("    headers:\n      allow: [x-ok, \"x:bad\"]\n      deny: [\"\"]\n"),
			[]string{`5:21: providers[0].headers.allow[1]: invalid header name "x:bad"`}},
		{"negative provider timeouts", withProvider("    timeouts:\n      connect: -1s\n      total: -2s\n"),
			[]string{`5:16: providers[0].timeouts.connect: must not be negative, got -1s`, `6:14: providers[0].timeouts.total: must not be negative, got -2s`}},
		{"ca_file missing", withProvider("    ca_file: " + missing + "\n"),
			[]string{`4:14: providers[0].ca_file: file "` + missing + `" does not exist`}},
		{"ca_file without certificates", withProvider("    ca_file: " + junk + "\n"),
			[]string{`4:14: providers[0].ca_file: no PEM certificates in "` + junk + `"`}},
		{"ca_file ok", withProvider("    ca_file: " + cert + "\n"), nil},
		{"proxy scheme", withProvider("    proxy: socks5://127.0.0.1:1080\n"),
			[]string{`4:12: providers[0].proxy: unsupported scheme "socks5": want http or https`}},
		{"proxy with credentials is fine", withProvider("    proxy: http://u:p@127.0.0.1:3128\n"), nil},
		{"negative max_conns", withProvider("    max_conns: -1\n"),
			[]string{`4:16: providers[0].max_conns: must not be negative, got -1`}},
		// models
		{"model without name", strings.Replace(minimal, "  - name: gpt-4o-mini\n    targets:", "  - targets:", 1),
			[]string{`6:5: models[0].name: required`}},
		{"model name with a space", strings.Replace(minimal, "name: gpt-4o-mini", "name: gpt 4o", 1),
			[]string{`6:11: models[0].name: invalid model name "gpt 4o": no spaces, control or non-ASCII characters`}},
		{"duplicate model", minimal + "  - name: gpt-4o-mini\n    targets: [{provider: openai}]\n",
			[]string{`9:11: models[1].name: duplicate model name "gpt-4o-mini" (first at 6:11)`}},
		{"model without targets", minimal + "  - name: empty\n",
			[]string{`9:5: models[1].targets: no targets: want at least one`}},
		{"model with empty targets", minimal + "  - name: empty\n    targets: []\n",
			[]string{`10:14: models[1].targets: no targets: want at least one`}},
		{"target without provider", minimal + "  - name: m\n    targets: [{model: x}]\n",
			[]string{`10:15: models[1].targets[0].provider: required: the name of a provider`}},
		{"unknown provider", minimal + "  - name: m\n    targets:\n      - provider: openi\n",
			[]string{`11:19: models[1].targets[0].provider: unknown provider "openi"`}},
		{"negative weight", minimal + "        weight: -1\n",
			[]string{`9:17: models[0].targets[0].weight: must not be negative, got -1`}},
		{"huge weight", minimal + "        weight: 1000001\n",
			[]string{`9:17: models[0].targets[0].weight: must be at most 1000000, got 1000001`}},
		{"all weights zero", minimal + "        weight: 0\n      - provider: openai\n        weight: 0\n",
			[]string{`8:7: models[0].targets: every target has weight 0: at least one needs a positive weight`}},
		{"one zero weight is fine", minimal + "        weight: 0\n      - provider: openai\n", nil},
		// model-name patterns
		{"pattern without target model is fine", minimal + "  - name: gpt-5*\n    targets: [{provider: openai}]\n  - name: \"*\"\n    targets: [{provider: openai}]\n", nil},
		{"pattern with a target model is fine", minimal + "  - name: o*\n    targets: [{provider: openai, model: o4-mini}]\n", nil},
		{"star inside a name", minimal + "  - name: gpt-*-mini\n    targets: [{provider: openai}]\n",
			[]string{`9:11: models[1].name: invalid model name "gpt-*-mini": '*' may appear only once, as the last character (a pattern such as "claude-*")`}},
		{"two stars", minimal + "  - name: claude-**\n    targets: [{provider: openai}]\n",
			[]string{`9:11: models[1].name: invalid model name "claude-**": '*' may appear only once, as the last character (a pattern such as "claude-*")`}},
		{"duplicate pattern", minimal + "  - name: claude-*\n    targets: [{provider: openai}]\n  - name: claude-*\n    targets: [{provider: openai}]\n",
			[]string{`11:11: models[2].name: duplicate model name "claude-*" (first at 9:11)`}},
		// passthrough
		{"passthrough unknown", minimal + "passthrough:\n  provider: nope\n",
			[]string{`10:13: passthrough.provider: unknown provider "nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, problems(t, tt.src, nil), tt.want)
		})
	}

	two := `providers:
  - name: openai
    kind: openai
    base_url: http://127.0.0.1:9000/v1
  - name: anth
    kind: anthropic
    base_url: http://127.0.0.1:9000/v1
  - name: openai
    kind: openai
    base_url: http://127.0.0.1:9001/v1
models:
  - name: m
    targets: [{provider: anth}]
passthrough:
  provider: anth
`
	t.Run("duplicate provider and passthrough kind", func(t *testing.T) {
		checkProblems(t, problems(t, two, nil), []string{
			`8:11: providers[2].name: duplicate provider name "openai" (first at 2:11)`,
			`15:13: passthrough.provider: provider "anth" is of kind anthropic: passthrough needs a provider of kind openai`,
		})
	})
}

// TestNoCascade checks that a value that failed to decode is reported once,
// not again by validation, and that references to providers are not called
// unknown when the providers themselves are broken.
func TestNoCascade(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"broken providers list", "providers: {name: openai}\nmodels:\n  - name: m\n    targets: [{provider: openai}]\n",
			[]string{`1:12: providers: expected a list, got a mapping`}},
		{"broken provider name", "providers:\n  - name: [openai]\n    kind: openai\n    base_url: http://x/v1\nmodels:\n  - name: m\n    targets: [{provider: openai}]\n",
			[]string{`2:11: providers[0].name: expected a single value, got a list`}},
		{"broken server", minimal + "server: 8080\n",
			[]string{`9:9: server: expected a mapping, got a number`}},
		{"broken target", minimal + "  - name: m\n    targets: [openai]\n",
			[]string{`10:15: models[1].targets[0]: expected a mapping, got a string`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, problems(t, tt.src, nil), tt.want)
		})
	}
}

func TestValidateInCode(t *testing.T) {
	c := &Config{
		Providers: []Provider{{Name: "openai", Kind: KindOpenAI, BaseURL: "http://127.0.0.1:9000/v1/"}},
		Models:    []Model{{Name: "m", Targets: []Target{{Provider: "openai"}}}},
	}
	if err := c.Validate(); err == nil {
		t.Fatal("Validate before ApplyDefaults passed; want missing defaults reported")
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate after ApplyDefaults: %v", err)
	}
	if c.Models[0].Targets[0].Weight != 1 || c.Models[0].Targets[0].Model != "m" || c.Passthrough.Provider != "openai" ||
		c.Providers[0].BaseURL != "http://127.0.0.1:9000/v1" {
		t.Errorf("defaults not applied: %+v", c)
	}

	c.Providers[0].Kind = "grpc"
	c.Models[0].Targets[0].Provider = "nope"
	err := c.Validate()
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("Validate error = %v, want Errors", err)
	}
	got := err.Error()
	for _, line := range []string{
		`providers[0].kind: unknown kind "grpc": want openai, azure, anthropic, gemini or bedrock`,
		`models[0].targets[0].provider: unknown provider "nope"`,
	} {
		if !strings.Contains(got, line) {
			t.Errorf("Validate error:\n%s\nwant a line %q", got, line)
		}
	}
	if strings.Contains(got, ":0:") {
		t.Errorf("errors without positions print a position: %s", got)
	}
}
