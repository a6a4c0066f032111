package provider

import (
	"net/url"

	"github.com/sluice-gw/sluice/internal/config"
)

// kind is a provider kind from config: the format it speaks and how it is
// addressed and authenticated. Most kinds are their format; Azure OpenAI
// speaks OpenAI's format at paths of its own with a key of its own.
type kind uint8

const (
	kindOpenAI kind = iota
	kindAzure
	kindAnthropic
	kindGemini
	kindBedrock
)

func kindOf(k string) kind {
	switch k {
	case config.KindAzure:
		return kindAzure
	case config.KindAnthropic:
		return kindAnthropic
	case config.KindGemini:
		return kindGemini
	case config.KindBedrock:
		return kindBedrock
	}
	return kindOpenAI
}

// kindFormat maps the kinds that are not a format of their own to the
// format they speak.
func kindFormat(k string) string {
	if k == config.KindAzure {
		return config.KindOpenAI
	}
	return k
}

var (
	strAPIKey      = []byte("Api-Key")
	strDeployments = "/openai/deployments/"
)

// keyValue renders a provider key as authorize sends it.
func (up *Upstream) keyValue(key string) []byte {
	if up.kind == kindAzure {
		return []byte(key)
	}
	return up.hooks.KeyValue(key)
}

// Azure OpenAI's operations that a deployment serves: the path after /v1
// that OpenAI's API gives them.
var azureDeploymentOps = []string{"/chat/completions", "/completions", "/embeddings", "/audio/", "/images/"}

// azurePath appends to b (the base path, the resource root's) the Azure
// path of the OpenAI path rest: a deployment's operation under
// /openai/deployments/{model}, anything else under /openai; the query is
// the provider's api-version, whatever the client sent.
func (up *Upstream) azurePath(b, rest []byte, model string, _ []byte) ([]byte, []byte) {
	deployed := false
	if len(model) > 0 {
		for _, op := range azureDeploymentOps {
			if len(rest) >= len(op) && string(rest[:len(op)]) == op {
				deployed = true
				break
			}
		}
	}
	if deployed {
		b = append(b, strDeployments...)
		b = append(b, url.PathEscape(model)...)
	} else {
		b = append(b, "/openai"...)
	}
	return append(b, rest...), up.azureQuery
}

// Kind returns the provider's kind as config names it.
func (up *Upstream) Kind() string {
	switch up.kind {
	case kindAzure:
		return config.KindAzure
	case kindAnthropic:
		return config.KindAnthropic
	case kindGemini:
		return config.KindGemini
	case kindBedrock:
		return config.KindBedrock
	}
	return config.KindOpenAI
}
