package gateway_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/gateway"
	"github.com/sluice-gw/sluice/internal/metrics"
	"github.com/sluice-gw/sluice/internal/mock"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sluice-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return certFile, keyFile, pool
}

// TestTLSBothWays serves the mock over TLS (trusted through ca_file) and
// the gateway's own listener over TLS, and streams through both.
func TestTLSBothWays(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mock.New(mock.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = m.Serve(tls.NewListener(raw, &tls.Config{Certificates: []tls.Certificate{cert}}))
	}()
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })

	yaml := fmt.Sprintf(`
server:
  listen: 127.0.0.1:0
  tls: {cert_file: %q, key_file: %q}
providers:
  - name: secure
    kind: openai
    base_url: https://%s/v1
    ca_file: %q
  - name: untrusted
    kind: openai
    base_url: https://%s/v1
models:
  - name: gpt-4o-mini
    targets: [{provider: secure}]
  - name: untrusted
    targets: [{provider: untrusted}]
`, certFile, keyFile, raw.Addr(), certFile, raw.Addr())
	cfg, err := config.Parse("tls.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(cfg, gateway.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New()})
	if err != nil {
		t.Fatal(err)
	}
	srv := gw.NewServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeTLS(ln, certFile, keyFile) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background(), 0) })

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	post := func(model string, stream bool) (int, string) {
		body := fmt.Sprintf(`{"model":%q,"stream":%t,"messages":[{"role":"user","content":"hi"}]}`, model, stream)
		resp, err := client.Post("https://"+ln.Addr().String()+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := post("gpt-4o-mini", true); status != 200 || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Fatalf("stream over TLS: %d\n%s", status, body)
	}
	if status, body := post("gpt-4o-mini", false); status != 200 || !strings.Contains(body, `"chat.completion"`) {
		t.Fatalf("reply over TLS: %d\n%s", status, body)
	}
	// Without ca_file the self-signed upstream is not trusted.
	if status, body := post("untrusted", false); status != 502 || !strings.Contains(body, "upstream_unreachable") {
		t.Fatalf("untrusted upstream: %d %s", status, body)
	}
}

func TestHeadersTooLarge(t *testing.T) {
	s := newStack(t, nil)
	// fasthttp cannot parse the path out of headers it could not read, so
	// this error is always in OpenAI format. The server answers and closes
	// while the client may still be writing, which resets the connection:
	// an HTTP client would report the failed write and drop the answer, so
	// the request is written on a raw connection while the reply is read.
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		_, _ = fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\nContent-Length: 2\r\n\r\n{}", strings.Repeat("a", 70<<10))
	}()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 431 || !strings.Contains(string(body), `"code":"request_too_large"`) {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
}
