package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/internal/auth"
	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/gateway"
	"github.com/sluice-gw/sluice/internal/metrics"
)

// With admin.listen set, the admin API is served there and only there.
func TestAdminOnItsOwnListener(t *testing.T) {
	cfg, err := config.Parse("admin.yaml", []byte(`
server: {listen: 127.0.0.1:0}
admin: {token: separate-admin-token, listen: "127.0.0.1:0"}
data_dir: `+t.TempDir()+`
auth: {enabled: true}
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
models: [{name: m, targets: [{provider: p}]}]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	keys, err := auth.New(context.Background(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	gw, err := gateway.New(cfg, gateway.Deps{Log: logger, Metrics: metrics.New(), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(s *gateway.Server) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = s.Serve(ln) }()
		t.Cleanup(func() { _ = s.Shutdown(context.Background(), 0) })
		return "http://" + ln.Addr().String()
	}
	client, admin := serve(gw.NewServer()), serve(gw.NewAdminServer())

	post := func(base string) int {
		req, _ := http.NewRequest("POST", base+"/admin/v1/keys", strings.NewReader(`{"name":"x"}`))
		req.Header.Set("Authorization", "Bearer separate-admin-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post(admin); st != 201 {
		t.Fatalf("admin listener: %d", st)
	}
	if st := post(client); st == 201 {
		t.Fatal("the admin API is also served on the client listener")
	}
}
