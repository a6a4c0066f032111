package ratelimit

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// settleOp is one settleScript call, or a barrier (done set) that Flush
// waits on.
type settleOp struct {
	keys []string
	args []any
	nb   int
	done chan struct{}
}

// newSettle starts the settlement of the scope's tag (a key or a target).
func (r *redisBackend) newSettle(s scope) *settleOp {
	tag := r.tag(s)
	if s.kind == scopeKeyModel {
		tag = r.tag(scope{kind: scopeKey, id: s.id})
	}
	c := tag + ":c"
	return &settleOp{
		keys: []string{c, tag + ":$", c, c}, // held set and sum: see unhold
		args: []any{periodMicros, "", "0", int64(0), 0, ""},
	}
}

// bucket reconciles a tokens bucket by delta (actual − reserved).
func (o *settleOp) bucket(r *redisBackend, s scope, limit uint64, delta int64) {
	if delta == 0 {
		return
	}
	o.keys = append(o.keys, r.bucketKey(s, "t"))
	o.args = append(o.args, limit, delta)
	o.nb++
	o.args[4] = o.nb
}

// unhold releases a cost held against the key's budget.
func (o *settleOp) unhold(member string) {
	tag := o.keys[0][:len(o.keys[0])-len(":c")]
	o.keys[2], o.keys[3] = tag+":$h", tag+":$hs"
	o.args[5] = member
}

// release frees a concurrency slot.
func (o *settleOp) release(member string) { o.args[1] = member }

// spend adds usd to the key's spend in its budget period.
func (o *settleOp) spend(r *redisBackend, p period, usd float64, now time.Time) {
	tag := o.keys[0][:len(o.keys[0])-len(":c")]
	o.keys[1] = r.spendKey(tag, p, now)
	o.args[2] = strconv.FormatFloat(usd, 'g', -1, 64)
	o.args[3] = spendExpiry(p, now)
}

// empty reports whether the op would change nothing.
func (o *settleOp) empty() bool {
	return o.nb == 0 && o.args[1] == "" && o.args[2] == "0" && o.args[5] == ""
}

// enqueue hands op to the writer; when its queue is full the caller writes
// it at once, so that nothing is lost.
func (r *redisBackend) enqueue(op *settleOp) {
	if op.empty() {
		return
	}
	select {
	case r.queue <- op:
	default:
		r.write([]*settleOp{op})
	}
}

// writer writes queued settlements in pipelined batches until stop closes,
// then drains the queue.
func (r *redisBackend) writer() {
	defer r.wg.Done()
	batch := make([]*settleOp, 0, settleBatch)
	for {
		var op *settleOp
		select {
		case op = <-r.queue:
		case <-r.stop:
			for {
				select {
				case op := <-r.queue:
					r.write([]*settleOp{op})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], op)
	fill:
		for len(batch) < settleBatch {
			select {
			case op := <-r.queue:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		r.write(batch)
	}
}

// write runs a batch of settlements in one pipeline. Barriers in it are
// released once the batch is done. When Redis is down (or fails now) the
// settlements wait in pending until a probe finds it back.
func (r *redisBackend) write(batch []*settleOp) {
	ops := batch[:0:0]
	for _, op := range batch {
		if op.done == nil {
			ops = append(ops, op)
		}
	}
	defer func() {
		for _, op := range batch {
			if op.done != nil {
				close(op.done)
			}
		}
	}()
	if len(ops) == 0 {
		return
	}
	if !r.up() {
		r.keep(ops)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	failed, err := r.pipeline(ctx, ops)
	if len(failed) > 0 && isNoScript(err) {
		// Redis restarted and lost its scripts: load it and run those again.
		if lerr := settleScript.Load(ctx, r.client).Err(); lerr == nil {
			failed, err = r.pipeline(ctx, failed)
		}
	}
	if err != nil {
		// A settlement has no deadline of its own to meet: a failed
		// pipeline (after settleTimeout, or refused at once) means Redis
		// is gone, not slow. Open the breaker, so that the probe writes
		// what waits once it is back.
		r.keep(failed)
		r.trip(err)
		return
	}
	r.ok()
}

// pipeline runs ops and returns those that failed and the first error.
func (r *redisBackend) pipeline(ctx context.Context, ops []*settleOp) ([]*settleOp, error) {
	pipe := r.client.Pipeline()
	cmds := make([]*redis.Cmd, len(ops))
	for i, op := range ops {
		cmds[i] = settleScript.EvalSha(ctx, pipe, op.keys, op.args...)
	}
	_, _ = pipe.Exec(ctx)
	var failed []*settleOp
	var first error
	for i, c := range cmds {
		if err := c.Err(); err != nil {
			failed = append(failed, ops[i])
			if first == nil || isNoScript(err) {
				first = err
			}
		}
	}
	return failed, first
}

func isNoScript(err error) bool {
	return err != nil && redis.HasErrorPrefix(err, "NOSCRIPT")
}

// keep holds settlements until Redis is back, up to maxPending.
func (r *redisBackend) keep(ops []*settleOp) {
	r.pmu.Lock()
	room := maxPending - len(r.pending)
	n := min(room, len(ops))
	r.pending = append(r.pending, ops[:n]...)
	r.pmu.Unlock()
	if dropped := len(ops) - n; dropped > 0 {
		r.met.settleDropped.Add(float64(dropped))
	}
}

// flush waits until every settlement queued before it was written (or
// kept for later, when Redis is down).
func (r *redisBackend) flush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case r.queue <- &settleOp{done: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops the writer and the probe (writing what is queued) and closes
// the client.
func (r *redisBackend) close(ctx context.Context) error {
	_ = ctx
	close(r.stop)
	r.wg.Wait()
	return r.client.Close()
}
