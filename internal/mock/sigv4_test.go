package mock

import (
	"strings"
	"testing"
)

func TestCheckSigV4(t *testing.T) {
	const sig = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name, header string
		want         string // "" accepts; else a piece of the message
	}{
		{"sdk", testSigV4, ""},
		{"no spaces, other order", "AWS4-HMAC-SHA256 Signature=" + sig + ",SignedHeaders=host,Credential=AKID/20250102/eu-west-3/bedrock/aws4_request", ""},
		{"missing", "", "Missing Authentication Token"},
		{"bearer", "Bearer sk-abc", "must start with AWS4-HMAC-SHA256"},
		{"algorithm only", "AWS4-HMAC-SHA256 ", "requires 'Credential'"},
		{"no signature", "AWS4-HMAC-SHA256 Credential=A/20250102/us-east-1/bedrock/aws4_request, SignedHeaders=host", "requires 'Signature'"},
		{"no signed headers", "AWS4-HMAC-SHA256 Credential=A/20250102/us-east-1/bedrock/aws4_request, Signature=" + sig, "requires 'SignedHeaders'"},
		{"unknown parameter", testSigV4 + ", Extra=1", "unknown parameter"},
		{"not name=value", testSigV4 + ", junk", "not name=value"},
		{"short scope", "AWS4-HMAC-SHA256 Credential=A/20250102/us-east-1/bedrock, SignedHeaders=host, Signature=" + sig, "Credential must be"},
		{"empty key", "AWS4-HMAC-SHA256 Credential=/20250102/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=" + sig, "access key id"},
		{"bad date", "AWS4-HMAC-SHA256 Credential=A/20251302/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=" + sig, "valid date"},
		{"bad region", "AWS4-HMAC-SHA256 Credential=A/20250102/US_EAST/bedrock/aws4_request, SignedHeaders=host, Signature=" + sig, "valid region"},
		{"other service", "AWS4-HMAC-SHA256 Credential=A/20250102/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig, "'bedrock'"},
		{"bad terminator", "AWS4-HMAC-SHA256 Credential=A/20250102/us-east-1/bedrock/aws4, SignedHeaders=host, Signature=" + sig, "terminator"},
		{"host not signed", "AWS4-HMAC-SHA256 Credential=A/20250102/us-east-1/bedrock/aws4_request, SignedHeaders=x-amz-date, Signature=" + sig, "SignedHeaders"},
		{"upper-case signed header", "AWS4-HMAC-SHA256 Credential=A/20250102/us-east-1/bedrock/aws4_request, SignedHeaders=Host, Signature=" + sig, "SignedHeaders"},
		{"empty signed header", "AWS4-HMAC-SHA256 Credential=A/20250102/us-east-1/bedrock/aws4_request, SignedHeaders=host;;x, Signature=" + sig, "SignedHeaders"},
		{"short signature", "AWS4-HMAC-SHA256 Credential=A/20250102/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=" + sig[1:], "64 lower-case"},
		{"upper-case signature", "AWS4-HMAC-SHA256 Credential=A/20250102/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=" + strings.ToUpper(sig), "64 lower-case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := checkSigV4([]byte(tc.header))
			switch {
			case tc.want == "" && got != "":
				t.Errorf("refused: %s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("got %q, want a message with %q", got, tc.want)
			case tc.header != "" && got != "" && strings.Contains(got, tc.header):
				t.Errorf("message %q repeats the header", got)
			}
		})
	}
}

// FuzzCheckSigV4: any header is either accepted, and then starts with the algorithm
// and carries a 64-digit signature, or refused with a message that does not repeat it.
func FuzzCheckSigV4(f *testing.F) {
	f.Add(testSigV4)
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=, Signature=")
	f.Add("Bearer x")
	f.Fuzz(func(t *testing.T, h string) {
		msg := checkSigV4([]byte(h))
		if msg == "" {
			if !strings.HasPrefix(h, sigV4Algorithm) || !strings.Contains(h, "Signature=") || !strings.Contains(h, "/bedrock/aws4_request") {
				t.Fatalf("accepted %q", h)
			}
			return
		}
		// Messages are constants: one could contain a short header by chance (the
		// algorithm's name does), never a whole signed one.
		if len(h) > 40 && strings.Contains(msg, h) {
			t.Fatalf("message %q repeats the header", msg)
		}
	})
}
