package mock

import (
	"strconv"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// metrics are the mock's own counters, kept in fixed arrays of atomics so that
// counting costs no lock and no allocation on the request path.
type metrics struct {
	// requests counts replies by route and status; status 0 is a request answered with
	// no response at all (dropped, or hung until the client left).
	requests    [numRoutes][600]atomic.Uint64
	openStreams atomic.Int64
	bytesOut    atomic.Uint64 // response body bytes, streams included
	events      atomic.Uint64 // stream flushes that carried at least one token
	stalls      atomic.Uint64 // paced stream writes that found the client's socket full
}

func (m *metrics) count(r route, status, bytes int) {
	if status < 0 || status >= len(m.requests[r]) {
		status = 0
	}
	m.requests[r][status].Add(1)
	m.bytesOut.Add(uint64(bytes))
}

// serveMetrics answers GET /metrics in the Prometheus text format.
func (s *Server) serveMetrics(ctx *fasthttp.RequestCtx) {
	m := &s.metrics
	b := ctx.Response.SwapBody(nil)[:0]
	b = append(b, "# HELP sluice_mock_requests_total Requests the mock answered, by route and status (0: no response sent).\n"...)
	b = append(b, "# TYPE sluice_mock_requests_total counter\n"...)
	for r := range m.requests {
		for status := range m.requests[r] {
			n := m.requests[r][status].Load()
			if n == 0 {
				continue
			}
			b = append(b, `sluice_mock_requests_total{route="`...)
			b = append(b, routeNames[r]...)
			b = append(b, `",status="`...)
			b = strconv.AppendInt(b, int64(status), 10)
			b = append(b, `"} `...)
			b = strconv.AppendUint(b, n, 10)
			b = append(b, '\n')
		}
	}
	b = append(b, "# HELP sluice_mock_open_streams Streamed replies in progress.\n"...)
	b = append(b, "# TYPE sluice_mock_open_streams gauge\n"...)
	b = append(b, "sluice_mock_open_streams "...)
	b = strconv.AppendInt(b, m.openStreams.Load(), 10)
	b = append(b, '\n')
	b = append(b, "# HELP sluice_mock_response_bytes_total Response body bytes sent, streams included.\n"...)
	b = append(b, "# TYPE sluice_mock_response_bytes_total counter\n"...)
	b = append(b, "sluice_mock_response_bytes_total "...)
	b = strconv.AppendUint(b, m.bytesOut.Load(), 10)
	b = append(b, '\n')
	b = append(b, "# HELP sluice_mock_stream_events_total Token events flushed to streaming clients.\n"...)
	b = append(b, "# TYPE sluice_mock_stream_events_total counter\n"...)
	b = append(b, "sluice_mock_stream_events_total "...)
	b = strconv.AppendUint(b, m.events.Load(), 10)
	b = append(b, '\n')
	b = append(b, "# HELP sluice_mock_stream_stalls_total Writes of paced streams that found the client's socket full and waited for it.\n"...)
	b = append(b, "# TYPE sluice_mock_stream_stalls_total counter\n"...)
	b = append(b, "sluice_mock_stream_stalls_total "...)
	b = strconv.AppendUint(b, m.stalls.Load(), 10)
	b = append(b, '\n')
	ctx.Response.SwapBody(b)
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
}
