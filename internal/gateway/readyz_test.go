package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/gateway"
	"github.com/sluice-gw/sluice/internal/metrics"
	"github.com/sluice-gw/sluice/internal/telemetry"
)

// downSink is a request-log database that is unreachable.
type downSink struct{}

var errSinkDown = errors.New("connection refused")

func (downSink) Name() string                                    { return "down" }
func (downSink) Write(context.Context, []telemetry.Record) error { return errSinkDown }
func (downSink) Ping(context.Context) error                      { return errSinkDown }
func (downSink) Close() error                                    { return nil }
func (downSink) Logs(context.Context, telemetry.LogQuery) (telemetry.LogPage, error) {
	return telemetry.LogPage{}, errSinkDown
}
func (downSink) Usage(context.Context, telemetry.UsageQuery) ([]telemetry.UsageRow, error) {
	return nil, errSinkDown
}

// TestReadyzWhileLogDatabaseDown: with the log database down, /readyz stays
// 200 and its detail says what happens to request records: spooled and
// replayed while the spool has room, dropped (and how many) once it is full.
func TestReadyzWhileLogDatabaseDown(t *testing.T) {
	tests := []struct {
		name      string
		spoolMax  int64
		want      []string
		forbidden []string
	}{
		{"spool has room", 0, // the default, 1 GiB
			[]string{"records are spooled to disk and replayed when it is back"},
			[]string{"dropped"}},
		{"spool full", 1, // no batch fits
			[]string{"disk spool is full", "records are being dropped", "20 dropped so far", "sluice_telemetry_dropped_total"},
			[]string{"records are spooled to disk and replayed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("readyz.yaml", []byte(`
server: {listen: 127.0.0.1:0}
data_dir: `+t.TempDir()+`
providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
models: [{name: m, targets: [{provider: p}]}]
`), nil)
			if err != nil {
				t.Fatal(err)
			}
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			met := metrics.New()
			tel, err := telemetry.New(telemetry.Config{
				BatchSize: 10, FlushInterval: 5 * time.Millisecond, SpoolDir: t.TempDir(), SpoolMaxBytes: tt.spoolMax,
				Logger: logger, Registerer: met.Prometheus(),
			}, downSink{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = tel.Close(context.Background()) })
			gw, err := gateway.New(cfg, gateway.Deps{Log: logger, Metrics: met, Telemetry: tel})
			if err != nil {
				t.Fatal(err)
			}
			srv := gw.NewServer()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = srv.Serve(ln) }()
			t.Cleanup(func() { _ = srv.Shutdown(context.Background(), 0) })

			for i := range 20 {
				tel.Submit(&telemetry.Record{RequestID: "r" + itoa(i), Route: "/v1/chat/completions"})
			}
			deadline := time.Now().Add(10 * time.Second)
			for st := tel.Status(); st.Spooled+st.Dropped < 20; st = tel.Status() {
				if time.Now().After(deadline) {
					t.Fatalf("records neither spooled nor dropped: %+v", st)
				}
				time.Sleep(5 * time.Millisecond)
			}

			resp, err := http.Get("http://" + ln.Addr().String() + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Status, Detail string }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || body.Status != "ready" {
				t.Errorf("/readyz = %d %q, want 200 ready", resp.StatusCode, body.Status)
			}
			for _, w := range tt.want {
				if !strings.Contains(body.Detail, w) {
					t.Errorf("detail %q does not say %q", body.Detail, w)
				}
			}
			for _, f := range tt.forbidden {
				if strings.Contains(body.Detail, f) {
					t.Errorf("detail %q says %q", body.Detail, f)
				}
			}
		})
	}
}
