package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config is the pipeline's configuration. Zero values take the defaults
// noted; negative values are errors.
type Config struct {
	// QueueSize is how many records wait in memory; 0 = 65536. Submit
	// drops (and counts) a record when the queue is full.
	QueueSize int
	// BatchSize flushes a batch once it holds this many records; 0 = 1000.
	BatchSize int
	// FlushInterval flushes a batch at most this long after its first
	// record arrived; 0 = 100ms. kill -9 loses at most about this much.
	FlushInterval time.Duration
	// SpoolDir is the spool's directory (required; data_dir/spool).
	SpoolDir string
	// SpoolMaxBytes bounds the spool on disk; 0 = 1 GiB. A batch that does
	// not fit is dropped and counted (metric and a rate-limited log line).
	SpoolMaxBytes int64
	// SpoolSegmentBytes is the size at which the spool starts a new
	// segment file (space is freed a segment at a time); 0 = 64 MiB or a
	// quarter of SpoolMaxBytes, whichever is smaller.
	SpoolSegmentBytes int64
	// SinkTimeout bounds one sink write or ping; a slower write sends the
	// batch to the spool. 0 = 2s.
	SinkTimeout time.Duration
	// Retention, when positive, makes the pipeline prune rows older than
	// this from a sink that implements Pruner, hourly while the sink is
	// up. 0 = keep (the sinks' own Retention options do the same).
	Retention time.Duration
	// Logger receives the pipeline's log lines; nil = discard.
	Logger *slog.Logger
	// Registerer receives the metrics (see doc.go); nil = none.
	Registerer prometheus.Registerer
	// Clock stamps records that come without a time and drives the
	// rate-limited log lines and pruning; nil = time.Now.
	Clock func() time.Time
}

// Defaults.
const (
	DefaultQueueSize     = 65536
	DefaultBatchSize     = 1000
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultSpoolMaxBytes = 1 << 30
	DefaultSinkTimeout   = 2 * time.Second
	maxSegmentBytes      = 64 << 20
)

func (c Config) withDefaults() (Config, error) {
	switch {
	case c.QueueSize < 0:
		return c, errors.New("telemetry: QueueSize must not be negative")
	case c.BatchSize < 0:
		return c, errors.New("telemetry: BatchSize must not be negative")
	case c.FlushInterval < 0:
		return c, errors.New("telemetry: FlushInterval must not be negative")
	case c.SpoolDir == "":
		return c, errors.New("telemetry: SpoolDir is required")
	case c.SpoolMaxBytes < 0 || c.SpoolSegmentBytes < 0:
		return c, errors.New("telemetry: spool sizes must not be negative")
	case c.SinkTimeout < 0:
		return c, errors.New("telemetry: SinkTimeout must not be negative")
	case c.Retention < 0:
		return c, errors.New("telemetry: Retention must not be negative")
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.SpoolMaxBytes == 0 {
		c.SpoolMaxBytes = DefaultSpoolMaxBytes
	}
	if c.SpoolSegmentBytes == 0 {
		c.SpoolSegmentBytes = min(maxSegmentBytes, max(c.SpoolMaxBytes/4, 1))
	}
	if c.SinkTimeout == 0 {
		c.SinkTimeout = DefaultSinkTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c, nil
}

// Pipeline hands records from the request path to a sink, through a
// bounded queue, a batcher and a writer, spooling to disk when the sink
// cannot keep up. Create it with New; it is safe for concurrent use.
type Pipeline struct {
	cfg   Config
	sink  Sink
	spool *spool
	log   *slog.Logger
	met   *metricSet
	drops dropReporter

	// mu orders Submit's send against Close: Submit holds it for reading
	// around a non-blocking channel send, never across I/O.
	mu     sync.RWMutex
	closed bool
	queue  chan *Record
	// records recycles the queue's records (Submit allocates none in the
	// steady state, which keeps the garbage collector off the request
	// path).
	records sync.Pool

	// toWriter hands a batch to an idle writer (unbuffered).
	toWriter chan []Record
	// wake tells the writer the spool has something new (buffered, 1).
	wake chan struct{}
	// kick tells the batcher a batch's worth is queued (buffered, 1).
	kick chan struct{}
	// free recycles batch slices from the writer to the batcher.
	free    chan []Record
	closing chan struct{}
	// stopReplay ends replaying at Close once its context is done.
	stopReplay chan struct{}
	done       chan struct{}
	// ctx bounds sink calls; cancelled when Close gives up waiting.
	ctx    context.Context
	cancel context.CancelFunc

	// backlog: batches go straight to the spool (the sink is down, the
	// writer is busy or replaying, or the spool has older batches).
	backlog  atomic.Bool
	sinkUp   atomic.Bool
	lastErr  atomic.Pointer[string]
	written  atomic.Uint64
	spooled  atomic.Uint64
	replayed atomic.Uint64
	dropped  atomic.Uint64
	// refusing is the dropReason+1 of the last batch the spool refused
	// (full, or a disk error), 0 once a batch is spooled or written again
	// or a replay frees space.
	refusing atomic.Int32

	closeOnce      sync.Once
	stopReplayOnce sync.Once
}

// Status is the pipeline's state for /readyz detail.
type Status struct {
	// SinkUp is false while the sink fails writes or pings.
	SinkUp bool `json:"sink_up"`
	// Spooling is true while batches go to the spool or wait in it.
	Spooling bool `json:"spooling"`
	// DropReason is "spool_full" or "spool_error" while batches that had
	// to be spooled are being dropped instead (the spool is at
	// SpoolMaxBytes, or its disk fails); "" once a batch is spooled or
	// written again, or a replay frees space.
	DropReason string `json:"drop_reason,omitempty"`
	SpoolBytes int64  `json:"spool_bytes"`
	QueueDepth int    `json:"queue_depth"`
	// LastError is the sink's last failure while it is down, else "".
	LastError string `json:"last_error,omitempty"`
	// Counters since New (the metrics hold the same).
	Written  uint64 `json:"written"`
	Spooled  uint64 `json:"spooled"`
	Replayed uint64 `json:"replayed"`
	Dropped  uint64 `json:"dropped"`
}

// New starts a pipeline writing to sink. It opens the spool (replaying
// what an earlier run left there once the sink answers) and starts the
// batcher and writer goroutines; it never waits for the sink. The caller
// still owns sink: Close does not close it.
func New(cfg Config, sink Sink) (*Pipeline, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if sink == nil {
		return nil, errors.New("telemetry: a sink is required")
	}
	met, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("telemetry: register metrics: %w", err)
	}
	sp, err := openSpool(cfg.SpoolDir, cfg.SpoolMaxBytes, cfg.SpoolSegmentBytes, cfg.Logger)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{
		cfg: cfg, sink: sink, spool: sp, log: cfg.Logger, met: met,
		queue:      make(chan *Record, cfg.QueueSize),
		toWriter:   make(chan []Record),
		wake:       make(chan struct{}, 1),
		kick:       make(chan struct{}, 1),
		free:       make(chan []Record, 4),
		closing:    make(chan struct{}),
		stopReplay: make(chan struct{}),
		done:       make(chan struct{}),
	}
	p.drops.log = cfg.Logger
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.sinkUp.Store(true)
	met.sinkUp.Set(1)
	met.spoolBytes.Set(float64(sp.bytes()))
	if sp.pending() {
		p.backlog.Store(true)
		p.log.Info("telemetry: spool holds records from an earlier run; replaying them once the sink answers",
			"sink", sink.Name(), "spool_bytes", sp.bytes())
	}
	batcherDone, writerDone := make(chan struct{}), make(chan struct{})
	go p.batchLoop(batcherDone)
	go p.writeLoop(writerDone)
	go func() {
		<-batcherDone
		<-writerDone
		close(p.done)
	}()
	return p, nil
}

// Submit hands one record to the pipeline. It never blocks and does no
// I/O: it copies r (its slices too, but not the Tags map, which must not
// change afterwards), stamps Time with the clock when zero, and queues the
// copy. It returns false when the record was dropped (queue full, or the
// pipeline closed), which is counted.
func (p *Pipeline) Submit(r *Record) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		p.drop(dropClosed, 1)
		return false
	}
	if len(p.queue) == cap(p.queue) {
		p.drop(dropQueueFull, 1)
		return false
	}
	c, _ := p.records.Get().(*Record)
	if c == nil {
		c = new(Record)
	}
	*c = *r
	c.ownSlices()
	if c.Time.IsZero() {
		c.Time = p.cfg.Clock()
	}
	c.Time = c.Time.UTC()
	select {
	case p.queue <- c:
		if len(p.queue) >= p.cfg.BatchSize {
			select {
			case p.kick <- struct{}{}:
			default:
			}
		}
		return true
	default:
		*c = Record{}
		p.records.Put(c)
		p.drop(dropQueueFull, 1)
		return false
	}
}

// drop counts n dropped records; the log line comes later from a
// goroutine that may do I/O (dropReporter).
func (p *Pipeline) drop(reason dropReason, n int) {
	p.met.dropped[reason].Add(float64(n))
	p.dropped.Add(uint64(n))
	p.drops.add(reason, n)
}

// Status reports the pipeline's state.
func (p *Pipeline) Status() Status {
	st := Status{
		SinkUp:     p.sinkUp.Load(),
		Spooling:   p.backlog.Load() || p.spool.pending(),
		SpoolBytes: p.spool.bytes(),
		QueueDepth: len(p.queue),
		Written:    p.written.Load(),
		Spooled:    p.spooled.Load(),
		Replayed:   p.replayed.Load(),
		Dropped:    p.dropped.Load(),
	}
	if r := p.refusing.Load(); r > 0 {
		st.DropReason = dropReason(r - 1).String()
	}
	if e := p.lastErr.Load(); e != nil && !st.SinkUp {
		st.LastError = *e
	}
	return st
}

// closeGrace is how long Close still waits, once its context is done, for
// the batch whose sink write it cancelled to reach the spool.
const closeGrace = time.Second

// Close stops accepting records and drains the queue to the sink or the
// spool; while the sink is up it also replays the spool into it, until
// the spool is empty or ctx is done. Then it releases the spool. Records
// Submit accepted before Close are durable (in the sink or the spool)
// when it returns nil. Once ctx is done Close stops replaying, cancels
// the sink write in flight (its batch goes to the spool) and waits up to
// closeGrace more; if the queue is still not drained (a sink that
// ignores cancellation), it returns ctx's error and the records still in
// memory may be lost (the log line says how many). Close does not close
// the sink.
func (p *Pipeline) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.closing)
	})
	select {
	case <-p.done:
	case <-ctx.Done():
		p.stopReplayOnce.Do(func() { close(p.stopReplay) })
		p.cancel()
		select {
		case <-p.done:
		case <-time.After(closeGrace):
			p.log.Error("telemetry: close timed out before the queue was drained",
				"queued_records", len(p.queue), "error", ctx.Err())
			return fmt.Errorf("telemetry: close: %w", ctx.Err())
		}
	}
	p.cancel()
	p.drops.report(p.cfg.Clock(), true)
	if n := p.spool.bytes(); n > 0 {
		p.log.Warn("telemetry: spool not empty at shutdown; it is replayed at the next start",
			"spool_bytes", n, "dir", p.cfg.SpoolDir)
	}
	if err := p.spool.close(); err != nil {
		return fmt.Errorf("telemetry: close spool: %w", err)
	}
	return nil
}

// batchLoop cuts the queue into batches and delivers them. It does not
// wait on the queue itself, which would make every Submit wake it (a
// futex wake costs more than the rest of Submit): it wakes when Submit
// sees a batch's worth queued (kick), and every FlushInterval, when it
// flushes whatever is queued, so a record waits at most about one
// FlushInterval before its batch is cut.
func (p *Pipeline) batchLoop(done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(p.cfg.FlushInterval)
	defer tick.Stop()
	handoff := time.NewTimer(time.Hour)
	handoff.Stop()
	var enc []byte
	closing := false
	for {
		partial := false
		select {
		case <-p.kick:
		case <-tick.C:
			partial = true
			p.met.queueDepth.Set(float64(len(p.queue)))
			p.drops.report(p.cfg.Clock(), false)
		case <-p.closing:
			// Submit can no longer send (closed is set under mu), so
			// the queue only shrinks from here: take all of it.
			closing, partial = true, true
		}
		for n := len(p.queue); n > 0 && (n >= p.cfg.BatchSize || partial); n = len(p.queue) {
			batch := p.newBatch()
		fill:
			for len(batch) < p.cfg.BatchSize {
				select {
				case r := <-p.queue:
					batch = append(batch, *r)
					*r = Record{}
					p.records.Put(r)
				default:
					break fill
				}
			}
			enc = p.deliver(batch, handoff, enc)
		}
		if closing {
			p.met.queueDepth.Set(0)
			close(p.toWriter)
			return
		}
	}
}

func (p *Pipeline) newBatch() []Record {
	select {
	case b := <-p.free:
		return b[:0]
	default:
		return make([]Record, 0, min(p.cfg.BatchSize, 4096))
	}
}

// recycle returns a delivered batch's slice for reuse.
func (p *Pipeline) recycle(b []Record) {
	clear(b)
	select {
	case p.free <- b[:0]:
	default:
	}
}

// deliver gives batch to the writer if it takes it within FlushInterval,
// else (or while there is a backlog) appends it to the spool. enc is the
// batcher's encoding buffer, returned for reuse.
func (p *Pipeline) deliver(batch []Record, handoff *time.Timer, enc []byte) []byte {
	if !p.backlog.Load() {
		handoff.Reset(p.cfg.FlushInterval)
		select {
		case p.toWriter <- batch:
			handoff.Stop()
			return enc
		case <-handoff.C:
			// The writer is stuck on a slow write: spool until it has
			// caught up (it clears backlog when the spool is empty).
			p.backlog.Store(true)
		}
	}
	enc = p.spoolBatch(batch, enc)
	p.recycle(batch)
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return enc
}

// spoolBatch appends batch to the spool as one frame, counting it as
// spooled or dropped. buf is reused.
func (p *Pipeline) spoolBatch(batch []Record, buf []byte) []byte {
	if len(batch) == 0 {
		return buf
	}
	buf = append(buf[:0], make([]byte, frameHeader)...)
	buf = appendBatch(buf, batch)
	start := time.Now()
	err := p.spool.append(buf)
	p.met.batchSpool.Observe(time.Since(start).Seconds())
	p.met.spoolBytes.Set(float64(p.spool.bytes()))
	switch {
	case err == nil:
		p.refusing.Store(0)
		p.spooled.Add(uint64(len(batch)))
		p.met.spooled.Add(float64(len(batch)))
	case errors.Is(err, errSpoolFull):
		p.refusing.Store(int32(dropSpoolFull) + 1)
		p.drop(dropSpoolFull, len(batch))
	default:
		p.refusing.Store(int32(dropSpoolError) + 1)
		p.drops.setErr(err)
		p.drop(dropSpoolError, len(batch))
	}
	if cap(buf) > 4<<20 {
		buf = nil // do not pin a huge buffer after a burst of large bodies
	}
	return buf
}

// dropReporter turns drop counts into log lines, at most one per
// dropLogEvery (the first at once), from goroutines that may do I/O.
type dropReporter struct {
	log     *slog.Logger
	pending [numDropReasons]atomic.Uint64
	mu      sync.Mutex
	last    time.Time
	err     error
}

const dropLogEvery = 10 * time.Second

func (d *dropReporter) add(r dropReason, n int) { d.pending[r].Add(uint64(n)) }

func (d *dropReporter) setErr(err error) {
	d.mu.Lock()
	d.err = err
	d.mu.Unlock()
}

func (d *dropReporter) report(now time.Time, force bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !force && !d.last.IsZero() && now.Sub(d.last) < dropLogEvery {
		return
	}
	var attrs []any
	for r := range numDropReasons {
		if n := d.pending[r].Swap(0); n > 0 {
			attrs = append(attrs, r.String(), n)
		}
	}
	if attrs == nil {
		return
	}
	d.last = now
	if d.err != nil {
		attrs = append(attrs, "spool_error", d.err.Error())
		d.err = nil
	}
	d.log.Error("telemetry: records dropped (counted in sluice_telemetry_dropped_total)", attrs...)
}
