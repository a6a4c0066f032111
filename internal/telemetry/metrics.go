package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-gw/sluice/internal/metrics"
)

// dropReason is why records were dropped; each is a value of the reason
// label of sluice_telemetry_dropped_total.
type dropReason int

const (
	// dropQueueFull: Submit found the in-memory queue full.
	dropQueueFull dropReason = iota
	// dropSpoolFull: the sink could not take a batch and the spool was at
	// its size bound.
	dropSpoolFull
	// dropSpoolError: the sink could not take a batch and writing it to
	// the spool failed (disk error).
	dropSpoolError
	// dropRejected: the sink refused a record as invalid (ErrRejected),
	// after the batch was split down to that one record.
	dropRejected
	// dropClosed: Submit was called after Close.
	dropClosed
	numDropReasons
)

func (r dropReason) String() string {
	return [...]string{"queue_full", "spool_full", "spool_error", "rejected", "closed"}[r]
}

// Destinations of a batch write, the dest label of the batch histogram.
const (
	destSink  = "sink"
	destSpool = "spool"
)

// metricSet holds the pipeline's series. Every series exists even with no
// Registerer, unregistered, so the code never checks for nil.
type metricSet struct {
	queueDepth prometheus.Gauge
	written    prometheus.Counter
	spooled    prometheus.Counter
	replayed   prometheus.Counter
	dropped    [numDropReasons]prometheus.Counter
	spoolBytes prometheus.Gauge
	sinkUp     prometheus.Gauge
	batchSink  prometheus.Observer
	batchSpool prometheus.Observer
}

// batchBuckets span a fsync of a small frame to a sink write near its
// timeout.
var batchBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

func newMetrics(reg prometheus.Registerer) (*metricSet, error) {
	queueDepth := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sluice_telemetry_queue_depth",
		Help: "Records waiting in the in-memory telemetry queue.",
	})
	written := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sluice_telemetry_written_total",
		Help: "Records written to the telemetry sink directly (not through the spool).",
	})
	spooled := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sluice_telemetry_spooled_total",
		Help: "Records written to the disk spool because the sink was down or slow.",
	})
	replayed := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sluice_telemetry_replayed_total",
		Help: "Records replayed from the disk spool into the sink.",
	})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_telemetry_dropped_total",
		Help: "Records lost, by reason: queue_full, spool_full, spool_error (disk), rejected (invalid for the sink), closed (submitted after shutdown).",
	}, []string{"reason"})
	spoolBytes := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sluice_telemetry_spool_bytes",
		Help: "Bytes in the telemetry disk spool.",
	})
	sinkUp := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sluice_telemetry_sink_up",
		Help: "1 when the telemetry sink takes writes, 0 while it is down and records spool.",
	})
	batch := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sluice_telemetry_batch_duration_seconds",
		Help:    "Time to write one batch, by destination: sink (a direct write or a replay) or spool (append and fsync).",
		Buckets: batchBuckets,
	}, []string{"dest"})

	if reg != nil {
		var err error
		queueDepth = metrics.RegisterTo(reg, queueDepth, &err)
		written = metrics.RegisterTo(reg, written, &err)
		spooled = metrics.RegisterTo(reg, spooled, &err)
		replayed = metrics.RegisterTo(reg, replayed, &err)
		dropped = metrics.RegisterTo(reg, dropped, &err)
		spoolBytes = metrics.RegisterTo(reg, spoolBytes, &err)
		sinkUp = metrics.RegisterTo(reg, sinkUp, &err)
		batch = metrics.RegisterTo(reg, batch, &err)
		if err != nil {
			return nil, err
		}
	}
	m := &metricSet{
		queueDepth: queueDepth, written: written, spooled: spooled, replayed: replayed,
		spoolBytes: spoolBytes, sinkUp: sinkUp,
		batchSink: batch.WithLabelValues(destSink), batchSpool: batch.WithLabelValues(destSpool),
	}
	for r := range numDropReasons {
		m.dropped[r] = dropped.WithLabelValues(r.String())
	}
	return m, nil
}
