// Command mockstreams holds many concurrent slow streams open against `sluice mock` and
// reports what they cost the mock: its resident memory (VmRSS, and the peak VmHWM, from
// /proc/PID/status) and its CPU time per token event (user + system time from
// /proc/PID/stat, divided by the token events the mock's /metrics counted over the same
// window).
//
// It opens -n connections (at most -dial at a time), sends each one streamed chat
// completion steered with X-Mock-ITL and X-Mock-TTFT, waits until every stream has
// delivered its first bytes, holds them all for -hold while sampling the mock once a
// second, then closes every connection and exits. -deadline bounds the whole run, so it
// always stops by itself. bench/scripts/mock-streams.sh builds and runs it against a fresh
// mock; see docs/benchmarks.md ("Mock").
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type config struct {
	addr     string
	n        int
	itl      time.Duration
	ttft     time.Duration
	tokens   int
	hold     time.Duration
	dial     int
	pid      int
	deadline time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:9000", "mock address host:port")
	flag.IntVar(&cfg.n, "n", 10000, "concurrent streams")
	flag.DurationVar(&cfg.itl, "itl", time.Second, "time between tokens (X-Mock-ITL)")
	flag.DurationVar(&cfg.ttft, "ttft", 0, "time to first token (X-Mock-TTFT)")
	flag.IntVar(&cfg.tokens, "tokens", 0, "tokens per stream (default: enough to outlast -hold and the ramp)")
	flag.DurationVar(&cfg.hold, "hold", 30*time.Second, "how long to hold every stream open")
	flag.IntVar(&cfg.dial, "dial", 200, "connections opened at a time during the ramp")
	flag.IntVar(&cfg.pid, "pid", 0, "PID of the mock, to sample its memory and CPU (0: do not sample)")
	flag.DurationVar(&cfg.deadline, "deadline", 0, "hard limit of the whole run (default: hold + 2 minutes)")
	flag.Parse()
	if cfg.deadline == 0 {
		cfg.deadline = cfg.hold + 2*time.Minute
	}
	if cfg.tokens == 0 {
		// Long enough that no stream ends during the ramp and the hold.
		cfg.tokens = int((cfg.hold+time.Minute)/max(cfg.itl, time.Millisecond)) + 10
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "mockstreams:", err)
		os.Exit(1)
	}
}

// counters are shared by every stream reader.
type counters struct {
	started atomic.Int64 // streams that delivered their first bytes
	open    atomic.Int64 // streams still open
	failed  atomic.Int64 // streams that ended before the client closed them
	events  atomic.Int64 // SSE events read ("\n\n" separators)
}

func run(cfg config) error {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.deadline)
	defer cancel()

	body := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hold this stream open."}]}`
	req := fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
		"X-Mock-ITL: %s\r\nX-Mock-TTFT: %s\r\nX-Mock-Tokens: %d\r\nContent-Length: %d\r\n\r\n%s",
		cfg.addr, ms(cfg.itl), ms(cfg.ttft), cfg.tokens, len(body), body)

	var c counters
	var mu sync.Mutex
	conns := make([]net.Conn, 0, cfg.n)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	sem := make(chan struct{}, cfg.dial)
	started := time.Now()
	fmt.Printf("# mockstreams: %d streams to %s, ITL %v, TTFT %v, %d tokens each, hold %v\n",
		cfg.n, cfg.addr, cfg.itl, cfg.ttft, cfg.tokens, cfg.hold)
	if cfg.pid > 0 {
		m, err := sample(cfg.pid)
		if err != nil {
			return err
		}
		fmt.Printf("before:  VmRSS %.1f MiB, VmHWM %.1f MiB\n", m.rssMiB, m.hwmMiB)
	}
	for i := 0; i < cfg.n && ctx.Err() == nil; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := openStream(ctx, cfg.addr, req)
			<-sem
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				c.failed.Add(1)
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			c.started.Add(1)
			c.open.Add(1)
			go read(conn, &c)
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		fmt.Printf("warning: %d streams failed to start; first error: %v\n", c.failed.Load(), err)
	}
	ramp := time.Since(started)
	fmt.Printf("ramp:    %d streams open after %v\n", c.started.Load(), ramp.Round(time.Millisecond))

	metricsURL := "http://" + cfg.addr + "/metrics"
	ev0, err := streamEvents(ctx, metricsURL)
	if err != nil {
		return err
	}
	cpu0, _ := cpuTicks(cfg.pid)
	t0 := time.Now()
	var peakRSS float64
	minOpen := c.open.Load()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	deadline := time.NewTimer(cfg.hold)
	defer deadline.Stop()
	lastEvents := c.events.Load()
hold:
	for {
		select {
		case <-ctx.Done():
			break hold
		case <-deadline.C:
			break hold
		case <-tick.C:
			open := c.open.Load()
			minOpen = min(minOpen, open)
			ev := c.events.Load()
			line := fmt.Sprintf("t=%3.0fs  open %d  client events/s %d", time.Since(t0).Seconds(), open, ev-lastEvents)
			lastEvents = ev
			if cfg.pid > 0 {
				if m, err := sample(cfg.pid); err == nil {
					peakRSS = max(peakRSS, m.rssMiB)
					line += fmt.Sprintf("  VmRSS %.1f MiB  VmHWM %.1f MiB", m.rssMiB, m.hwmMiB)
				}
			}
			fmt.Println(line)
		}
	}
	held := time.Since(t0)
	cpu1, _ := cpuTicks(cfg.pid)
	ev1, err := streamEvents(ctx, metricsURL)
	if err != nil {
		return err
	}
	var final memSample
	if cfg.pid > 0 {
		final, _ = sample(cfg.pid)
		peakRSS = max(peakRSS, final.rssMiB)
	}

	mu.Lock()
	for _, conn := range conns {
		_ = conn.Close()
	}
	mu.Unlock()

	events := ev1 - ev0
	fmt.Printf("\nresult: streams %d/%d started, min open during hold %d, ended early %d\n",
		c.started.Load(), cfg.n, minOpen, c.failed.Load())
	fmt.Printf("result: held %.1fs, mock token events %d (%.0f/s)\n", held.Seconds(), events, float64(events)/held.Seconds())
	if cfg.pid > 0 {
		cpuSec := float64(cpu1-cpu0) / clockTicks
		fmt.Printf("result: mock VmRSS at end %.1f MiB, max sampled VmRSS %.1f MiB, VmHWM (peak since start) %.1f MiB\n",
			final.rssMiB, peakRSS, final.hwmMiB)
		per := "n/a"
		if events > 0 {
			per = fmt.Sprintf("%.2f", cpuSec*1e6/float64(events))
		}
		fmt.Printf("result: mock CPU %.2fs over the hold (%.1f%% of one core), %s µs per token event\n",
			cpuSec, 100*cpuSec/held.Seconds(), per)
	}
	if c.started.Load() < int64(cfg.n) {
		return fmt.Errorf("only %d of %d streams started", c.started.Load(), cfg.n)
	}
	return nil
}

// ms renders d as the milliseconds X-Mock-* headers take.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64)
}

// openStream connects, sends the request and waits for the first bytes of the reply.
func openStream(ctx context.Context, addr, req string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, fmt.Errorf("write request: %w", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		conn.Close()
		return nil, fmt.Errorf("first byte: %w", err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	return conn, nil
}

// read counts the events of one stream until the connection ends.
func read(conn net.Conn, c *counters) {
	defer c.open.Add(-1)
	br := bufio.NewReaderSize(conn, 2048)
	var prev byte
	for {
		buf, err := br.ReadSlice('\n')
		if len(buf) > 0 {
			if prev == '\n' && buf[0] == '\n' {
				c.events.Add(1)
			}
			c.events.Add(int64(bytes.Count(buf, []byte("\n\n"))))
			prev = buf[len(buf)-1]
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if !errors.Is(err, net.ErrClosed) {
				c.failed.Add(1) // the stream ended before the client closed it
			}
			return
		}
	}
}

// streamEvents reads sluice_mock_stream_events_total from the mock's /metrics.
func streamEvents(ctx context.Context, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "sluice_mock_stream_events_total "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New("metrics: no sluice_mock_stream_events_total")
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100 on Linux.
const clockTicks = 100

// cpuTicks returns the user + system CPU time of pid in clock ticks.
func cpuTicks(pid int) (int64, error) {
	if pid <= 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after its ')' are fixed.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)  // utime, field 14
	st, err2 := strconv.ParseInt(f[12], 10, 64) // stime, field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return u + st, nil
}

type memSample struct{ rssMiB, hwmMiB float64 }

// sample reads VmRSS and VmHWM of pid.
func sample(pid int) (memSample, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memSample{}, err
	}
	var m memSample
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[0], 64)
		switch k {
		case "VmRSS":
			m.rssMiB = kb / 1024
		case "VmHWM":
			m.hwmMiB = kb / 1024
		}
	}
	return m, nil
}
