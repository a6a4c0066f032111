package ratelimit

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// settleOp is one settleScript call, or a barrier (done set) that Flush
// waits on. Its sections are assembled into the script's keys and
// arguments when it is written (see script).
type settleOp struct {
	buckets []string // tokens buckets to reconcile
	bargs   []any    // per bucket: limit, delta (actual − reserved)
	sets    []string // concurrency sets to release a slot from
	members []any    // per set: the slot's member
	budgets []string // per budget: spend counter, held set, held sum
	dargs   []any    // per budget: cost, counter expiry (unix ms; 0 never), hold member ("" none)
	done    chan struct{}
}

// bucket reconciles a tokens bucket by delta (actual − reserved).
func (o *settleOp) bucket(r *redisBackend, s scope, limit uint64, delta int64) {
	if delta == 0 {
		return
	}
	o.buckets = append(o.buckets, r.bucketKey(s, "t"))
	o.bargs = append(o.bargs, limit, delta)
}

// release frees the concurrency slot member of s.
func (o *settleOp) release(r *redisBackend, s scope, member string) {
	o.sets = append(o.sets, r.tag(s)+":c")
	o.members = append(o.members, member)
}

// budget returns the index of s's budget in o, adding it.
func (o *settleOp) budget(r *redisBackend, s scope) int {
	tag := r.tag(s)
	for i := 0; i < len(o.budgets); i += 3 {
		if o.budgets[i+1] == tag+":$h" {
			return i / 3
		}
	}
	o.budgets = append(o.budgets, tag+":$", tag+":$h", tag+":$hs")
	o.dargs = append(o.dargs, "0", int64(0), "")
	return len(o.budgets)/3 - 1
}

// unhold releases a cost held against s's budget.
func (o *settleOp) unhold(r *redisBackend, s scope, member string) {
	o.dargs[3*o.budget(r, s)+2] = member
}

// spend adds usd to s's spend in its budget period p. expiry, when not 0,
// is when a total budget's counter may go (end users); a day's or a
// month's goes a day after its period.
func (o *settleOp) spend(r *redisBackend, s scope, p period, usd float64, now time.Time, expiry int64) {
	i := o.budget(r, s)
	o.budgets[3*i] = r.spendKey(r.tag(s), p, now)
	o.dargs[3*i] = strconv.FormatFloat(usd, 'g', -1, 64)
	if exp := spendExpiry(p, now); exp != 0 || expiry == 0 {
		o.dargs[3*i+1] = exp
	} else {
		o.dargs[3*i+1] = expiry
	}
}

// script returns the op's keys and arguments for settleScript.
func (o *settleOp) script() ([]string, []any) {
	keys := make([]string, 0, len(o.buckets)+len(o.sets)+len(o.budgets))
	keys = append(append(append(keys, o.buckets...), o.sets...), o.budgets...)
	args := make([]any, 0, 4+len(o.bargs)+len(o.members)+len(o.dargs))
	args = append(args, periodMicros, len(o.buckets), len(o.sets), len(o.budgets)/3)
	args = append(append(append(args, o.bargs...), o.members...), o.dargs...)
	return keys, args
}

// empty reports whether the op would change nothing.
func (o *settleOp) empty() bool {
	return len(o.buckets) == 0 && len(o.sets) == 0 && len(o.budgets) == 0
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
		keys, args := op.script()
		cmds[i] = settleScript.EvalSha(ctx, pipe, keys, args...)
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
