package config

import (
	"regexp"
	"strings"
)

// kindList names the kinds in messages.
var kindList = strings.Join(Kinds[:len(Kinds)-1], ", ") + " or " + Kinds[len(Kinds)-1]

// baseURLHint says what base_url is for a kind, in a "required" message.
func baseURLHint(kind string) string {
	switch kind {
	case KindAzure:
		return `the resource root, such as "https://NAME.openai.azure.com"`
	case KindAnthropic:
		return `the API root, such as "https://api.anthropic.com/v1"`
	case KindGemini:
		return `the API root, such as "https://generativelanguage.googleapis.com"`
	}
	return `the API root, such as "https://api.openai.com/v1"`
}

// awsRegion is the shape of an AWS region name (us-east-1, eu-central-2,
// us-gov-west-1, ...).
var awsRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// kindFields checks the fields that belong to one kind of provider: each
// is required where its kind needs it and refused on any other kind, so a
// setting that would be ignored never goes unnoticed.
func (v *validator) kindFields(base string, p *Provider) {
	only := func(field, kind string, set bool) {
		if set && p.Kind != kind && p.Kind != "" {
			v.errf(base+"."+field, "applies only to providers of kind %s", kind)
		}
	}
	only("anthropic_version", KindAnthropic, p.AnthropicVersion != "")
	only("api_version", KindAzure, p.APIVersion != "")
	only("region", KindBedrock, p.Region != "")
	only("access_key_id", KindBedrock, p.AccessKeyID != "")
	only("secret_access_key", KindBedrock, p.SecretAccessKey != "")
	only("session_token", KindBedrock, p.SessionToken != "")
	switch p.Kind {
	case KindAzure:
		if p.APIVersion == "" {
			v.required(base+".api_version", `: Azure OpenAI's api-version, such as "2024-10-21"`)
		} else if !printableASCII(p.APIVersion) || strings.ContainsAny(p.APIVersion, "&#?/ ") {
			v.errf(base+".api_version", "invalid api-version %q", p.APIVersion)
		}
		if strings.Contains(p.BaseURL, "/openai") {
			v.errf(base+".base_url", "is the resource root: leave out /openai (Sluice adds /openai/deployments/{deployment}/...)")
		}
	case KindBedrock:
		if p.Region == "" {
			v.required(base+".region", `: the AWS region, such as "us-east-1"`)
		} else if !awsRegion.MatchString(p.Region) {
			v.errf(base+".region", "invalid AWS region %q", p.Region)
		}
		if (p.AccessKeyID == "") != (p.SecretAccessKey == "") {
			v.errf(base+".access_key_id", "access_key_id and secret_access_key go together: set both, or neither to read AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment")
		}
		if p.SessionToken != "" && p.AccessKeyID == "" {
			v.errf(base+".session_token", "needs access_key_id and secret_access_key in the config too")
		}
		if len(p.APIKeys) > 0 {
			v.errf(base+".api_keys", "bedrock signs requests with AWS credentials: use access_key_id and secret_access_key (or the AWS environment), not api_keys")
		}
	}
}
