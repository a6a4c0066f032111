package config

import (
	"strings"
	"testing"
)

func TestAPIKeyForms(t *testing.T) {
	c, err := Parse("k.yaml", []byte(`providers:
  - name: p
    kind: openai
    base_url: "http://127.0.0.1:1/v1"
    api_keys:
      - sk-plain
      - {key: sk-heavy, weight: 3}
      - {key: "${UNSET}", weight: 2}
      - "${UNSET}"
      - {key: sk-off, weight: 0}
models: [{name: m, targets: [{provider: p}]}]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	ks := c.Providers[0].APIKeys
	if len(ks) != 3 || ks[0].Key.Reveal() != "sk-plain" || ks[0].KeyWeight() != 1 ||
		ks[1].Key.Reveal() != "sk-heavy" || ks[1].KeyWeight() != 3 || ks[2].KeyWeight() != 0 {
		t.Fatalf("keys %+v", ks)
	}
	_, err = Parse("k.yaml", []byte(`providers:
  - {name: p, kind: openai, base_url: "http://127.0.0.1:1/v1", api_keys: [{key: k, weight: -1}, {key: k2, wieght: 1}]}
models: [{name: m, targets: [{provider: p}]}]
`), nil)
	if err == nil || !strings.Contains(err.Error(), "api_keys[0].weight: must be between 0") || !strings.Contains(err.Error(), `unknown field "wieght"`) {
		t.Fatalf("problems %v", err)
	}
}
