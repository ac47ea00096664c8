package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// Options tune an Appender. The zero value is usable.
type Options struct {
	// MaxBatch caps the requests in one transaction. Default 256.
	MaxBatch int
	// MaxWait is how long a batch waits for more requests after the first.
	// Default 0: flush as soon as the queue is drained.
	MaxWait time.Duration
	// Flushers is how many batches may be in flight at once. Default 1.
	// More than one pays off on a store that commits concurrent transactions
	// in parallel (PostgreSQL: its WAL flush is shared too); SQLite has one
	// writer, so it gains nothing there.
	Flushers int
	// With Flushers > 1, a batch that would start while another is in
	// flight waits until that one ends, until FillBatch requests are queued
	// for it, or for HoldMax, whichever comes first: each transaction
	// costs the store a commit and a few statements whatever its size, so
	// under load a few full batches cost far less than many small ones.
	// Defaults: FillBatch MaxBatch/4 (at least 1), HoldMax 5ms; a negative
	// HoldMax never holds.
	FillBatch int
	HoldMax   time.Duration
}

// defaultHoldMax bounds the hold: a little more than a batch usually takes
// on PostgreSQL, so a hold mostly ends with the batch in flight, yet a
// stalled transaction delays the next batch only that long.
const defaultHoldMax = 5 * time.Millisecond

// Appender sends concurrent appends to the store in batches.
type Appender struct {
	store domain.EventStore
	opts  Options
	queue chan *call

	mu     sync.RWMutex // held shared while enqueueing, exclusively by Close
	closed bool
	quit   chan struct{} // closed by Close: drain the queue and stop
	done   chan struct{} // closed when every flusher has stopped

	// With several flushers, one at a time gathers the next batch (it
	// holds turn); the others are flushing or idle.
	turn     chan struct{} // a token: whoever takes it gathers the next batch
	inFlight atomic.Int32  // batches being written
	kick     chan struct{} // (cap 1) a batch ended or the queue filled: re-check the hold
}

// Claim states of a call: the flusher and the caller race to move it out of pending.
const (
	pending   int32 = iota
	taken           // in a batch: the caller must wait for the outcome
	abandoned       // the caller's ctx ended first: never written
)

type call struct {
	req   domain.AppendRequest
	state atomic.Int32
	out   chan outcome // buffered: the flusher never blocks on a caller
}

type outcome struct {
	res domain.AppendResult
	err error
}

// New starts an Appender over store. Close it to stop its goroutine.
func New(store domain.EventStore, opts Options) *Appender {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.MaxWait < 0 {
		opts.MaxWait = 0
	}
	if opts.Flushers <= 0 {
		opts.Flushers = 1
	}
	if opts.FillBatch <= 0 {
		opts.FillBatch = max(1, opts.MaxBatch/4)
	}
	opts.FillBatch = min(opts.FillBatch, opts.MaxBatch)
	if opts.HoldMax == 0 {
		opts.HoldMax = defaultHoldMax
	}
	a := &Appender{
		store: store,
		opts:  opts,
		queue: make(chan *call, opts.MaxBatch),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
		turn:  make(chan struct{}, 1),
		kick:  make(chan struct{}, 1),
	}
	a.turn <- struct{}{}
	var wg sync.WaitGroup
	for range opts.Flushers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.run()
		}()
	}
	go func() {
		wg.Wait()
		close(a.done)
	}()
	return a
}

// Append writes req in the next batch and returns its own outcome.
func (a *Appender) Append(ctx context.Context, req domain.AppendRequest) (domain.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return domain.AppendResult{}, err
	}
	c := &call{req: req, out: make(chan outcome, 1)}
	a.mu.RLock()
	if a.closed {
		a.mu.RUnlock()
		return domain.AppendResult{}, fmt.Errorf("groupcommit: appender closed: %w", domain.ErrUnavailable)
	}
	select {
	case a.queue <- c:
	case <-ctx.Done():
		a.mu.RUnlock()
		return domain.AppendResult{}, ctx.Err()
	}
	a.mu.RUnlock()
	if a.opts.Flushers > 1 && 1+len(a.queue) >= a.opts.FillBatch {
		a.poke() // a held batch (its first request and the queue) is full enough to go
	}

	select {
	case o := <-c.out:
		return o.res, o.err
	case <-ctx.Done():
		if c.state.CompareAndSwap(pending, abandoned) {
			return domain.AppendResult{}, ctx.Err()
		}
		o := <-c.out // already sent: its outcome is the truth
		return o.res, o.err
	}
}

// Close stops accepting appends, writes those already queued and waits for
// the last batch. It is idempotent and always returns nil.
func (a *Appender) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		<-a.done
		return nil
	}
	a.closed = true
	a.mu.Unlock() // every enqueue that got in has finished: the queue only shrinks now
	close(a.quit)
	<-a.done
	return nil
}

func (a *Appender) run() {
	for {
		select {
		case <-a.turn:
		case <-a.quit:
			a.drain()
			return
		}
		select {
		case c := <-a.queue:
			a.hold()
			batch := a.collect(c)
			a.inFlight.Add(1)
			a.turn <- struct{}{} // the next batch gathers while this one is written
			a.flush(batch)
			a.inFlight.Add(-1)
			a.poke()
		case <-a.quit:
			a.turn <- struct{}{}
			a.drain()
			return
		}
	}
}

// drain writes what is queued, once Close has been called.
func (a *Appender) drain() {
	for {
		<-a.turn
		select {
		case c := <-a.queue:
			batch := a.collect(c)
			a.turn <- struct{}{}
			a.flush(batch)
		default:
			a.turn <- struct{}{}
			return
		}
	}
}

// hold delays a batch about to start while another is in flight (see
// Options.FillBatch): until no batch is in flight, FillBatch requests
// wait, HoldMax has passed or Close is called.
func (a *Appender) hold() {
	if a.opts.Flushers == 1 || a.opts.HoldMax < 0 || a.holdOver() {
		return
	}
	timer := time.NewTimer(a.opts.HoldMax)
	defer timer.Stop()
	for !a.holdOver() {
		select {
		case <-a.kick:
		case <-timer.C:
			return
		case <-a.quit:
			return
		}
	}
}

// holdOver: the batch gathered so far (its first request and the queue) may go.
func (a *Appender) holdOver() bool {
	return a.inFlight.Load() == 0 || 1+len(a.queue) >= a.opts.FillBatch
}

// poke wakes a holding gatherer, if any, to check again.
func (a *Appender) poke() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// collect builds a batch starting with first.
func (a *Appender) collect(first *call) []*call {
	batch := claim(nil, first)
	if a.opts.MaxWait > 0 {
		timer := time.NewTimer(a.opts.MaxWait)
		defer timer.Stop()
		for len(batch) < a.opts.MaxBatch {
			select {
			case c := <-a.queue:
				batch = claim(batch, c)
			case <-timer.C:
				return batch
			}
		}
		return batch
	}
	for len(batch) < a.opts.MaxBatch {
		select {
		case c := <-a.queue:
			batch = claim(batch, c)
		default:
			return batch
		}
	}
	return batch
}

// claim adds c to the batch unless its caller has already given up.
func claim(batch []*call, c *call) []*call {
	if c.state.CompareAndSwap(pending, taken) {
		return append(batch, c)
	}
	return batch
}

func (a *Appender) flush(batch []*call) {
	if len(batch) == 0 {
		return
	}
	reqs := make([]domain.AppendRequest, len(batch))
	for i, c := range batch {
		reqs[i] = c.req
	}
	results, errs, err := a.store.AppendBatch(context.Background(), reqs)
	if err == nil && (len(results) != len(batch) || len(errs) != len(batch)) {
		err = fmt.Errorf("groupcommit: store returned %d results and %d errors for %d requests",
			len(results), len(errs), len(batch))
	}
	if err != nil && len(batch) > 1 && errors.Is(err, domain.ErrInvalidEvent) {
		// One request the store refuses for good failed the whole
		// transaction (nothing was written): write each alone, so only that
		// one fails and its batch-mates are stored.
		for _, c := range batch {
			a.flush([]*call{c})
		}
		return
	}
	for i, c := range batch {
		if err != nil {
			c.out <- outcome{err: err}
			continue
		}
		c.out <- outcome{res: results[i], err: errs[i]}
	}
}
