package main

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-gw/sluice/internal/harness"
)

// rowCounter counts the soak's request-log rows over one connection,
// reconnecting after an outage.
type rowCounter struct {
	url  string
	conn *pgx.Conn
}

// soakRows selects every row the soak's clients caused (loads, bursts and
// side loads all have ids soak-...); the capacity ladder's are cap-...
const soakRows = `SELECT count(*) FROM request_logs WHERE request_id LIKE 'soak-%'`

func (c *rowCounter) count(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if c.conn == nil {
		conn, err := pgx.Connect(ctx, c.url)
		if err != nil {
			return 0, err
		}
		c.conn = conn
	}
	var n int64
	if err := c.conn.QueryRow(ctx, soakRows).Scan(&n); err != nil {
		c.close()
		return 0, err
	}
	return n, nil
}

func (c *rowCounter) close() {
	if c.conn != nil {
		_ = c.conn.Close(context.Background())
		c.conn = nil
	}
}

// sampleInstance reads one instance's resources: RSS and descriptors from
// /proc, goroutines, spool size and requests served from /metrics. peers
// names the ports its sockets lead to (fdKinds).
func sampleInstance(ctx context.Context, g *harness.Gateway, peers map[int]string) instSample {
	pid := g.Pid()
	if pid == 0 {
		return instSample{Err: "not running"}
	}
	var s instSample
	var err error
	if s.RSSBytes, err = harness.RSS(pid); err != nil {
		return instSample{Err: err.Error()}
	}
	if s.FDs, err = harness.OpenFDs(pid); err != nil {
		return instSample{Err: err.Error()}
	}
	if kinds, err := fdKinds(pid, peers); err == nil {
		s.FDKinds = kinds
	}
	m, err := g.Metrics(ctx)
	if err != nil {
		return instSample{Err: err.Error()}
	}
	gr, spool, served := m.Sum("go_goroutines"), m.Sum("sluice_telemetry_spool_bytes"), m.Sum("sluice_requests_total")
	if math.IsNaN(gr) || math.IsNaN(spool) {
		return instSample{Err: "no go_goroutines or sluice_telemetry_spool_bytes in /metrics"}
	}
	if math.IsNaN(served) { // no request yet
		served = 0
	}
	s.Goroutines, s.SpoolBytes, s.Served = int(gr), int64(spool), int64(served)
	s.CPUSeconds = zeroIfNaN(m.Sum("process_cpu_seconds_total"))
	s.DurSum = zeroIfNaN(m.Sum("gen_ai_server_request_duration_seconds_sum"))
	s.DurCount = int64(zeroIfNaN(m.Sum("gen_ai_server_request_duration_seconds_count")))
	return s
}

// load1 is the machine's 1-minute load average (-1 when unreadable).
func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// sampler takes a sample every p.Interval from t0 until t0 + p.Duration
// (one more at the end), printing a line now and then.
func (e *env) sampler(ctx context.Context, p plan, t0 time.Time, answered func() int64) []sample {
	rc := &rowCounter{url: e.DBURL}
	defer rc.close()
	every := max(1, int(30*time.Second/p.Interval)) // print about every 30 s
	var out []sample
	for n := 0; ; n++ {
		at := t0.Add(time.Duration(n) * p.Interval)
		if at.After(t0.Add(p.Duration)) {
			at = t0.Add(p.Duration)
		}
		if harness.Sleep(ctx, time.Until(at)) != nil {
			return out
		}
		s := sample{T: harness.Round1(time.Since(t0).Seconds()), DBRows: -1, Load1: load1()}
		for _, g := range e.Gateways {
			s.Instances = append(s.Instances, sampleInstance(ctx, g, e.peers(g)))
		}
		if rows, err := rc.count(ctx); err == nil {
			s.DBRows = rows
		}
		// After the rows: a row is written once its request settled,
		// which the client sees at about the same moment.
		s.Answered = answered()
		out = append(out, s)
		if n%every == 0 {
			e.Say("t=%5.0fs %s", s.T, sampleLine(s))
		}
		if !at.Before(t0.Add(p.Duration)) {
			return out
		}
	}
}

// peers names the ports an instance's sockets may lead to.
func (e *env) peers(g *harness.Gateway) map[int]string {
	m := map[int]string{e.PG.Port: "postgres", e.Redis.Port: "redis", g.Port: "clients"}
	if u, err := url.Parse(e.Mock.URL); err == nil {
		if p, err := strconv.Atoi(u.Port()); err == nil {
			m[p] = "upstream"
		}
	}
	return m
}

// sampleLine is a sample in one line.
func sampleLine(s sample) string {
	var b []byte
	for i, in := range s.Instances {
		if in.Err != "" {
			b = fmt.Appendf(b, "#%d: %s; ", i+1, in.Err)
			continue
		}
		b = fmt.Appendf(b, "#%d rss %.1f MiB, %d goroutines, %d fds, spool %d B; ", i+1,
			float64(in.RSSBytes)/(1<<20), in.Goroutines, in.FDs, in.SpoolBytes)
	}
	return string(fmt.Appendf(b, "rows %d of %d answered; load %.1f", s.DBRows, s.Answered, s.Load1))
}
