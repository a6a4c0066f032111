package ratelimit

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/metrics"
)

// metricSet holds the limiter's metrics, resolved once: the request path
// only touches atomics.
type metricSet struct {
	fallbackLocal, fallbackOpen, fallbackClosed prometheus.Counter
	refusedBy                                   [ReasonUnavailable + 1]prometheus.Counter
	redisUp                                     prometheus.Gauge
	settleDropped                               prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metricSet, error) {
	fallback := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_ratelimit_fallback_total",
		Help: "Limit decisions made without Redis because it could not be reached, by fail mode (local, open, closed).",
	}, []string{"mode"})
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_ratelimit_refused_total",
		Help: "Requests refused by a limit, by limit (rpm, tpm, concurrency, budget, unavailable).",
	}, []string{"limit"})
	up := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sluice_ratelimit_redis_up",
		Help: "1 while the limiter's Redis answers (or none is configured), 0 while limits run in fail mode.",
	})
	dropped := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sluice_ratelimit_settle_dropped_total",
		Help: "Reconciliations and slot releases for Redis given up after it stayed unreachable (slots then expire with their lease).",
	})
	if reg != nil {
		var err error
		fallback = metrics.RegisterTo(reg, fallback, &err)
		refused = metrics.RegisterTo(reg, refused, &err)
		up = metrics.RegisterTo(reg, up, &err)
		dropped = metrics.RegisterTo(reg, dropped, &err)
		if err != nil {
			return nil, err
		}
	}
	m := &metricSet{
		fallbackLocal:  fallback.WithLabelValues(config.FailLocal),
		fallbackOpen:   fallback.WithLabelValues(config.FailOpen),
		fallbackClosed: fallback.WithLabelValues(config.FailClosed),
		redisUp:        up,
		settleDropped:  dropped,
	}
	for r := ReasonRPM; r <= ReasonUnavailable; r++ {
		m.refusedBy[r] = refused.WithLabelValues(r.String())
	}
	up.Set(1)
	return m, nil
}

func (m *metricSet) fallback(mode string) {
	switch mode {
	case config.FailOpen:
		m.fallbackOpen.Inc()
	case config.FailClosed:
		m.fallbackClosed.Inc()
	default:
		m.fallbackLocal.Inc()
	}
}

func (m *metricSet) refused(r Reason) {
	if r > ReasonNone && r <= ReasonUnavailable {
		m.refusedBy[r].Inc()
	}
}
