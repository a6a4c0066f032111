package bedrock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/valyala/fasthttp"
)

// signingService is the SigV4 service name of Bedrock runtime (its host is
// bedrock-runtime.<region>.amazonaws.com, its signing name bedrock).
const signingService = "bedrock"

// ErrNoCredentials is a Signer without an access key id or secret key.
var ErrNoCredentials = errors.New("bedrock: no AWS credentials (access key id and secret access key)")

// Credentials are static AWS credentials. They print redacted (String,
// Format, LogValue): no part of the secret or session token ever reaches a
// log, and only the last four characters of the key id do.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// CredentialsFromEnv reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN (optional) through getenv; ok is false unless both of
// the first two are set. It reads nothing else: no shared config or
// credentials file, no profile, no instance or container metadata, no
// network source of any kind.
func CredentialsFromEnv(getenv func(string) string) (c Credentials, ok bool) {
	c = Credentials{
		AccessKeyID:     getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    getenv("AWS_SESSION_TOKEN"),
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return Credentials{}, false
	}
	return c, true
}

// String returns c with its secrets redacted.
func (c Credentials) String() string {
	id := c.AccessKeyID
	if len(id) > 4 {
		id = "…" + id[len(id)-4:]
	}
	s := "bedrock.Credentials{AccessKeyID:" + id + " SecretAccessKey:"
	if c.SecretAccessKey != "" {
		s += "[redacted]"
	}
	s += " SessionToken:"
	if c.SessionToken != "" {
		s += "[redacted]"
	}
	return s + "}"
}

// Format prints c redacted whatever the verb (%v, %+v, %#v, %s).
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs c redacted.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Signer signs Bedrock runtime requests with AWS Signature Version 4 using
// the AWS SDK's own signer (github.com/aws/aws-sdk-go-v2/aws/signer/v4),
// which caches the derived signing key per day: keep one Signer per
// provider. It is safe for concurrent use.
type Signer struct {
	region string
	creds  aws.Credentials
	sdk    *v4.Signer
}

// NewSigner returns a Signer for region (e.g. us-east-1) with c.
func NewSigner(region string, c Credentials) *Signer {
	return &Signer{
		region: region,
		creds: aws.Credentials{
			AccessKeyID:     c.AccessKeyID,
			SecretAccessKey: c.SecretAccessKey,
			SessionToken:    c.SessionToken,
			Source:          "sluice",
		},
		sdk: v4.NewSigner(),
	}
}

// Sign signs req, whose body is body, at time now, just before it is sent.
// It signs what the AWS SDK's bedrockruntime client signs, less the SDK's
// own bookkeeping headers (amz-sdk-invocation-id, amz-sdk-request): the
// method, the path exactly as it goes on the wire, the query, and the
// headers host, content-length (a non-empty body), content-type (set to
// application/json when missing: Converse takes nothing else),
// x-amz-date and, with a session token, x-amz-security-token; the payload
// hash is the SHA-256 of body. The SDK does not send x-amz-content-sha256
// to bedrock-runtime and neither does Sign. Other headers (user-agent,
// trace headers, forwarded ones) are left unsigned, so that nothing added
// later can break the signature.
//
// It sets Authorization, X-Amz-Date, X-Amz-Security-Token (deleted without
// a session token), Host and the URI's DisablePathNormalizing: the path is
// signed as set (UpstreamPath escapes it as the SDK does), and fasthttp
// must send it unchanged — the client that sends req must have
// DisablePathNormalizing set too, as provider.Upstream's HostClient does,
// since a HostClient overwrites the URI's flag with its own.
func (s *Signer) Sign(req *fasthttp.Request, body []byte, now time.Time) error {
	if s.creds.AccessKeyID == "" || s.creds.SecretAccessKey == "" {
		return ErrNoCredentials
	}
	uri := req.URI()
	uri.DisablePathNormalizing = true
	host := string(req.Header.Host())
	if host == "" {
		host = string(uri.Host())
	}
	if host == "" {
		return errors.New("bedrock: sign: request has no host")
	}
	path := string(uri.PathOriginal())
	if path == "" {
		path = "/"
	}
	if len(req.Header.ContentType()) == 0 {
		req.Header.SetContentType("application/json")
	}

	sum := sha256.Sum256(body)
	hr := &http.Request{
		Method: string(req.Header.Method()),
		// Opaque carries the path verbatim: the signer escapes it once more
		// for the canonical request, as it does the SDK's escaped path.
		URL: &url.URL{
			Scheme:   string(uri.Scheme()),
			Host:     host,
			Opaque:   path,
			RawQuery: string(uri.QueryString()),
		},
		Host:          host,
		Header:        http.Header{"Content-Type": {string(req.Header.ContentType())}},
		ContentLength: int64(len(body)),
	}
	if err := s.sdk.SignHTTP(context.Background(), s.creds, hr, hex.EncodeToString(sum[:]), signingService, s.region, now); err != nil {
		return fmt.Errorf("bedrock: sign: %w", err)
	}
	// The signer signs the host without a default port (":443" for https);
	// send what was signed.
	req.Header.SetHost(hr.Host)
	req.Header.Set("Authorization", hr.Header.Get("Authorization"))
	req.Header.Set("X-Amz-Date", hr.Header.Get("X-Amz-Date"))
	if s.creds.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", s.creds.SessionToken)
	} else {
		req.Header.Del("X-Amz-Security-Token")
	}
	return nil
}

// UpstreamPath returns the path of Converse (stream false) or
// ConverseStream on modelID: /model/{modelId}/converse or
// /model/{modelId}/converse-stream, the id escaped as the AWS SDK escapes
// it (smithy's httpbinding.EscapePath with separators encoded): every byte
// but A-Z a-z 0-9 - . _ ~ as %XX, upper-case hex, so that a version's ':'
// becomes %3A and an ARN's '/' %2F.
func UpstreamPath(modelID string, stream bool) string {
	const prefix = "/model/"
	suffix := "/converse"
	if stream {
		suffix = "/converse-stream"
	}
	b := make([]byte, 0, len(prefix)+3*len(modelID)+len(suffix))
	b = append(b, prefix...)
	b = appendPathEscaped(b, modelID)
	b = append(b, suffix...)
	return string(b)
}

// appendPathEscaped appends s with every byte outside RFC 3986's
// unreserved set percent-encoded.
func appendPathEscaped(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hex[c>>4], hex[c&0xf])
		}
	}
	return dst
}
