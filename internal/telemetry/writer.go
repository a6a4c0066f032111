package telemetry

import (
	"context"
	"errors"
	"time"
)

// Probe backoff while the sink is down: 100ms doubling to 1s, so spooled
// records reach a recovered sink within about a second plus the replay.
const (
	probeMin = 100 * time.Millisecond
	probeMax = time.Second
	// pruneEvery is how often retention runs; pruneRetry after a failure.
	pruneEvery   = time.Hour
	pruneRetry   = 5 * time.Minute
	pruneTimeout = time.Minute
)

// writeLoop is the only goroutine that talks to the sink. While the sink
// is up and the spool empty, it writes the batches the batcher hands it;
// on a failure it spools the batch and marks the sink down; while down it
// pings with backoff; once up it replays the spool, oldest first, before
// it takes batches directly again. On Close it stops probing, takes what
// the batcher still hands it, and keeps replaying while the sink is up
// until the spool is empty or Close gives up (stopReplay).
func (p *Pipeline) writeLoop(done chan struct{}) {
	defer close(done)
	probe := time.NewTimer(time.Hour)
	probe.Stop()
	armed := false
	backoff := time.Duration(0)
	closing := p.closing
	stopping, batcherGone := false, false
	var enc []byte
	var chunk []Record
	var nextPrune time.Time

	p.probe()
	for {
		up := p.sinkUp.Load()
		if up {
			backoff = 0
			if p.spool.pending() {
				if !p.replayStopped() {
					chunk = p.replay(chunk[:0])
					continue
				}
			} else {
				p.backlog.Store(false)
				if !stopping {
					nextPrune = p.prune(nextPrune)
				}
			}
		}
		if batcherGone {
			return
		}
		var probeC <-chan time.Time
		if !stopping && !up {
			if !armed {
				backoff = min(max(2*backoff, probeMin), probeMax)
				probe.Reset(backoff)
				armed = true
			}
			probeC = probe.C
		}
		select {
		case b, ok := <-p.toWriter:
			if !ok {
				batcherGone = true
				continue
			}
			enc = p.writeBatch(b, enc)
		case <-probeC:
			armed = false
			p.probe()
		case <-p.wake:
		case <-closing:
			stopping, closing = true, nil
		}
	}
}

func (p *Pipeline) replayStopped() bool {
	select {
	case <-p.stopReplay:
		return true
	default:
		return false
	}
}

// writeBatch writes a handed-over batch to the sink when it is up and
// nothing older waits in the spool, else to the spool.
func (p *Pipeline) writeBatch(b []Record, enc []byte) []byte {
	if p.sinkUp.Load() && !p.spool.pending() {
		rejected, err := p.writeSink(b)
		if err == nil {
			p.refusing.Store(0)
			p.written.Add(uint64(len(b) - rejected))
			p.met.written.Add(float64(len(b) - rejected))
			p.recycle(b)
			return enc
		}
		p.markDown(err)
	}
	enc = p.spoolBatch(b, enc)
	p.recycle(b)
	return enc
}

// replay writes the oldest spooled frames (about one batch) to the sink
// and commits them; on failure it marks the sink down and leaves them.
func (p *Pipeline) replay(chunk []Record) []Record {
	chunk, m := p.spool.read(chunk, p.cfg.BatchSize)
	if len(chunk) > 0 {
		rejected, err := p.writeSink(chunk)
		if err != nil {
			p.markDown(err)
			clear(chunk)
			return chunk
		}
		p.replayed.Add(uint64(len(chunk) - rejected))
		p.met.replayed.Add(float64(len(chunk) - rejected))
	}
	before := p.spool.bytes()
	p.spool.commit(m)
	after := p.spool.bytes()
	if after < before {
		p.refusing.Store(0) // a replayed segment was deleted: there is room again
	}
	p.met.spoolBytes.Set(float64(after))
	if !p.spool.pending() {
		p.log.Info("telemetry: spool replayed into the sink", "sink", p.sink.Name())
	}
	clear(chunk)
	return chunk
}

// writeSink writes b within SinkTimeout. A batch the sink rejects as
// invalid is split in halves until the record at fault is alone; that
// record is dropped and counted, and the rest are written. It returns
// how many records were rejected.
func (p *Pipeline) writeSink(b []Record) (rejected int, err error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.SinkTimeout)
	start := time.Now()
	err = p.sink.Write(ctx, b)
	cancel()
	p.met.batchSink.Observe(time.Since(start).Seconds())
	if err == nil || !errors.Is(err, ErrRejected) {
		return 0, err
	}
	if len(b) == 1 {
		p.log.Warn("telemetry: the sink rejected a record; dropping it",
			"sink", p.sink.Name(), "request_id", b[0].RequestID, "error", err)
		p.drop(dropRejected, 1)
		return 1, nil
	}
	r1, err := p.writeSink(b[:len(b)/2])
	if err != nil {
		return r1, err
	}
	r2, err := p.writeSink(b[len(b)/2:])
	return r1 + r2, err
}

// probe pings the sink and records the outcome.
func (p *Pipeline) probe() {
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.SinkTimeout)
	err := p.sink.Ping(ctx)
	cancel()
	if err != nil {
		p.markDown(err)
		return
	}
	if !p.sinkUp.Swap(true) {
		p.met.sinkUp.Set(1)
		p.log.Info("telemetry: sink is up again; replaying the spool",
			"sink", p.sink.Name(), "spool_bytes", p.spool.bytes())
	}
}

// markDown sends batches to the spool until a probe succeeds.
func (p *Pipeline) markDown(err error) {
	msg := err.Error()
	p.lastErr.Store(&msg)
	p.backlog.Store(true)
	if p.sinkUp.Swap(false) {
		p.met.sinkUp.Set(0)
		p.log.Warn("telemetry: sink down or slow; spooling records to disk until it answers",
			"sink", p.sink.Name(), "spool_dir", p.cfg.SpoolDir, "error", msg)
	}
}

// prune applies Config.Retention when it is due and returns when it is
// next due.
func (p *Pipeline) prune(next time.Time) time.Time {
	pr, ok := p.sink.(Pruner)
	if p.cfg.Retention <= 0 || !ok {
		return next
	}
	now := p.cfg.Clock()
	if now.Before(next) {
		return next
	}
	ctx, cancel := context.WithTimeout(p.ctx, pruneTimeout)
	defer cancel()
	if err := pr.Prune(ctx, now.Add(-p.cfg.Retention)); err != nil {
		p.log.Warn("telemetry: retention failed; retrying later", "sink", p.sink.Name(), "error", err)
		return now.Add(pruneRetry)
	}
	return now.Add(pruneEvery)
}
