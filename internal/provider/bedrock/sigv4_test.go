package bedrock

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/encoding/httpbinding"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/valyala/fasthttp"
)

// captured is one request the SDK sent.
type captured struct {
	method, requestURI, contentType, date, auth, token string
	body                                               []byte
}

// sdkRequest sends one Converse or ConverseStream call on model with the
// official bedrockruntime client and returns what reached the server.
// The SDK's bookkeeping headers (amz-sdk-invocation-id, a random UUID, and
// amz-sdk-request) are removed just before its signing step, so that it
// signs the headers Signer signs.
func sdkRequest(t *testing.T, c Credentials, model string, stream bool) captured {
	t.Helper()
	var (
		mu  sync.Mutex
		got captured
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = captured{method: r.Method, requestURI: r.RequestURI, contentType: r.Header.Get("Content-Type"),
			date: r.Header.Get("X-Amz-Date"), auth: r.Header.Get("Authorization"), token: r.Header.Get("X-Amz-Security-Token"), body: b}
		mu.Unlock()
		w.Header().Set("x-amzn-ErrorType", "ValidationException")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"message":"captured"}`))
	}))
	defer srv.Close()
	client := bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-west-2",
		BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
		}),
		Retryer: aws.NopRetryer{},
		APIOptions: []func(*middleware.Stack) error{func(st *middleware.Stack) error {
			return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("stripSDKHeaders",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					if req, ok := in.Request.(*smithyhttp.Request); ok {
						req.Header.Del("Amz-Sdk-Invocation-Id")
						req.Header.Del("Amz-Sdk-Request")
					}
					return next.HandleFinalize(ctx, in)
				}), "Signing", middleware.Before)
		}},
	})
	msgs := []brtypes.Message{{Role: brtypes.ConversationRoleUser, Content: []brtypes.ContentBlock{&brtypes.ContentBlockMemberText{Value: "Hello  there,\tBedrock"}}}}
	cfg := &brtypes.InferenceConfiguration{MaxTokens: aws.Int32(64)}
	var err error
	if stream {
		_, err = client.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(model), Messages: msgs, InferenceConfig: cfg})
	} else {
		_, err = client.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(model), Messages: msgs, InferenceConfig: cfg})
	}
	if err == nil || !strings.Contains(err.Error(), "captured") {
		t.Fatalf("SDK call: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.auth == "" {
		t.Fatal("the SDK sent no Authorization header")
	}
	got.requestURI = strings.TrimPrefix(got.requestURI, srv.URL)
	got.method += " " + strings.TrimPrefix(srv.URL, "http://") // carry the host
	return got
}

// The issue asks that Bedrock signing be tested against the AWS SDK's own
// signer output for fixed inputs: the same request, signed at the SDK's
// x-amz-date by Signer, must carry the SDK's Authorization byte for byte.
func TestSignMatchesSDK(t *testing.T) {
	models := []string{
		"anthropic.claude-3-5-haiku-20241022-v1:0",
		"arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0",
	}
	creds := []struct {
		name string
		c    Credentials
	}{
		{"static", Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}},
		{"session token", Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "IQoJb3JpZ2luX2VjEXAMPLE//token=="}},
	}
	for _, cr := range creds {
		for _, model := range models {
			for _, stream := range []bool{false, true} {
				t.Run(cr.name+"/"+model+"/"+map[bool]string{false: "converse", true: "stream"}[stream], func(t *testing.T) {
					sdk := sdkRequest(t, cr.c, model, stream)
					path := UpstreamPath(model, stream)
					if sdk.requestURI != path {
						t.Fatalf("path %q, SDK sent %q", path, sdk.requestURI)
					}
					at, err := time.Parse("20060102T150405Z", sdk.date)
					if err != nil {
						t.Fatal(err)
					}
					method, host, _ := strings.Cut(sdk.method, " ")
					var req fasthttp.Request
					req.Header.SetMethod(method)
					req.SetRequestURI("http://" + host + path)
					req.Header.SetContentType(sdk.contentType)
					req.Header.Set("User-Agent", "not signed")
					req.Header.Set("X-Amz-Security-Token", "stale, replaced or removed")
					req.SetBody(sdk.body)
					if err := NewSigner("us-west-2", cr.c).Sign(&req, sdk.body, at); err != nil {
						t.Fatal(err)
					}
					if got := string(req.Header.Peek("Authorization")); got != sdk.auth {
						t.Fatalf("Authorization\n got %s\nwant %s", got, sdk.auth)
					}
					if got := string(req.Header.Peek("X-Amz-Date")); got != sdk.date {
						t.Fatalf("X-Amz-Date %q, want %q", got, sdk.date)
					}
					if got := string(req.Header.Peek("X-Amz-Security-Token")); got != sdk.token {
						t.Fatalf("X-Amz-Security-Token %q, want %q", got, sdk.token)
					}
					if got := string(req.RequestURI()); got != path {
						t.Fatalf("fasthttp would send %q, signed %q", got, path)
					}
				})
			}
		}
	}
}

func TestUpstreamPath(t *testing.T) {
	tests := []struct{ id, want string }{
		{"amazon.nova-lite-v1:0", "/model/amazon.nova-lite-v1%3A0/converse"},
		{"arn:aws:bedrock:us-east-1::foundation-model/x y+z~", "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fx%20y%2Bz~/converse"},
		{"", "/model//converse"},
		{"é%", "/model/%C3%A9%25/converse"},
	}
	for _, tt := range tests {
		if got := UpstreamPath(tt.id, false); got != tt.want {
			t.Errorf("UpstreamPath(%q) = %q, want %q", tt.id, got, tt.want)
		}
		if got, want := UpstreamPath(tt.id, true), strings.TrimSuffix(tt.want, "converse")+"converse-stream"; got != want {
			t.Errorf("UpstreamPath(%q, stream) = %q, want %q", tt.id, got, want)
		}
		if got, want := string(appendPathEscaped(nil, tt.id)), httpbinding.EscapePath(tt.id, true); got != want {
			t.Errorf("escape(%q) = %q, SDK %q", tt.id, got, want)
		}
	}
}

func FuzzPathEscape(f *testing.F) {
	f.Add("anthropic.claude-3-5-haiku-20241022-v1:0")
	f.Add("arn:aws:bedrock:us-east-1:123:application-inference-profile/abc")
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := string(appendPathEscaped(nil, id)), httpbinding.EscapePath(id, true); got != want {
			t.Fatalf("escape(%q) = %q, SDK %q", id, got, want)
		}
	})
}

func TestCredentialsFromEnv(t *testing.T) {
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE1234", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "tok",
		"AWS_PROFILE": "ignored", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.2/never"}
	var asked []string
	c, ok := CredentialsFromEnv(func(k string) string { asked = append(asked, k); return env[k] })
	if !ok || c != (Credentials{"AKIDEXAMPLE1234", "secret", "tok"}) {
		t.Fatalf("got %v %v", c.AccessKeyID, ok)
	}
	if strings.Join(asked, ",") != "AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN" {
		t.Fatalf("read %v", asked)
	}
	if _, ok := CredentialsFromEnv(func(k string) string {
		if k == "AWS_SECRET_ACCESS_KEY" {
			return ""
		}
		return env[k]
	}); ok {
		t.Fatal("ok without a secret key")
	}
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c), c.LogValue().String()} {
		if strings.Contains(s, "secret") || strings.Contains(s, "tok") || strings.Contains(s, "AKIDEXAMPLE") || !strings.Contains(s, "1234") {
			t.Fatalf("credentials print as %q", s)
		}
	}
}

func TestSignRefuses(t *testing.T) {
	var req fasthttp.Request
	req.SetRequestURI("https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse")
	if err := NewSigner("us-east-1", Credentials{AccessKeyID: "AKID"}).Sign(&req, nil, time.Now()); err != ErrNoCredentials {
		t.Fatalf("got %v", err)
	}
}

// The signer signs the host without a default port, so Sign sends that.
func TestSignDefaultPort(t *testing.T) {
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("https://bedrock-runtime.us-east-1.amazonaws.com:443/model/m/converse")
	if err := NewSigner("us-east-1", Credentials{AccessKeyID: "AKID", SecretAccessKey: "s"}).Sign(&req, []byte("{}"), time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	if h := string(req.Header.Host()); h != "bedrock-runtime.us-east-1.amazonaws.com" {
		t.Fatalf("host %q", h)
	}
	if a := string(req.Header.Peek("Authorization")); !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKID/19700101/us-east-1/bedrock/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date, Signature=") {
		t.Fatalf("Authorization %q", a)
	}
}

func BenchmarkSign(b *testing.B) {
	body := []byte(strings.Repeat(`{"messages":[{"role":"user","content":[{"text":"hello"}]}]}`, 32)) // ~2 KB
	s := NewSigner("us-east-1", Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", SessionToken: "token"})
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("https://bedrock-runtime.us-east-1.amazonaws.com" + UpstreamPath("anthropic.claude-3-5-haiku-20241022-v1:0", true))
	req.Header.SetContentType("application/json")
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Sign(&req, body, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignCryptoFloor is what any SigV4 signer must compute per
// request once the day's signing key is cached: the body's SHA-256, the
// canonical request's SHA-256 and one HMAC-SHA256 over the string to sign.
// The gap to BenchmarkSign is what a hand-written signer could save.
func BenchmarkSignCryptoFloor(b *testing.B) {
	body := []byte(strings.Repeat(`{"messages":[{"role":"user","content":[{"text":"hello"}]}]}`, 32))
	canonical := []byte("POST\n/model/anthropic.claude-3-5-haiku-20241022-v1%253A0/converse-stream\n\ncontent-length:1920\ncontent-type:application/json\nhost:bedrock-runtime.us-east-1.amazonaws.com\nx-amz-date:20261207T120000Z\nx-amz-security-token:token\n\ncontent-length;content-type;host;x-amz-date;x-amz-security-token\n" + strings.Repeat("0", 64))
	key := make([]byte, 32)
	var hexBuf [64]byte
	mac := hmac.New(sha256.New, key)
	var sum []byte
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256(body)
		hex.Encode(hexBuf[:], h[:])
		h = sha256.Sum256(canonical)
		mac.Reset()
		mac.Write([]byte("AWS4-HMAC-SHA256\n20261207T120000Z\n20261207/us-east-1/bedrock/aws4_request\n"))
		mac.Write(h[:])
		sum = mac.Sum(sum[:0])
	}
}
