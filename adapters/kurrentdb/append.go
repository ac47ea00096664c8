package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"

	"github.com/tidemark/tidemark/domain"
)

// maxAttempts bounds how often one request looks at its stream again after
// another writer moved it between our read and our append.
const maxAttempts = 32

// errContention: an AnyVersion append lost the race maxAttempts times. It
// is domain.ErrUnavailable for the caller, but says nothing of the cluster.
var errContention = errors.New("other writers got there first every time")

// request is a validated append request.
type request struct {
	i      int // index in the batch
	stream string
	phys   string
	ids    []uuid.UUID
	data   []kurrentdb.EventData
}

// write is one append that reached the server; read back, it gives the
// positions of its events.
type write struct {
	phys  string
	first int64 // version of the first event
	ids   []uuid.UUID
	pos   []domain.Position
	err   error
}

// pending is a request's outcome before the positions are read back.
type pending struct {
	refs          []stored
	dups          []bool
	streamVersion int64
}

// Append writes one request atomically: one KurrentDB append.
func (s *Store) Append(ctx context.Context, req domain.AppendRequest) (domain.AppendResult, error) {
	results, errs, err := s.AppendBatch(ctx, []domain.AppendRequest{req})
	if err != nil {
		return domain.AppendResult{}, err
	}
	return results[0], errs[0]
}

// AppendBatch writes many requests, each atomically and on its own.
// KurrentDB has no transaction across streams, so this is not ONE
// transaction: requests are appended one by one in request order (which
// keeps their positions in request order and lets a later request see an
// earlier one), while the reads around them run in parallel: first every
// stream's tail (version and stored ids), then, after the appends, the
// positions of what was written. Each request has its own outcome. The
// batch error is returned only when nothing was written (the tails could
// not be read); after an append fails with domain.ErrUnavailable the
// requests behind it are not tried and fail alike.
func (s *Store) AppendBatch(ctx context.Context, reqs []domain.AppendRequest) ([]domain.AppendResult, []error, error) {
	results := make([]domain.AppendResult, len(reqs))
	errs := make([]error, len(reqs))
	var todo []*request
	want := map[string]map[uuid.UUID]struct{}{}
	for i, r := range reqs {
		p, err := s.prepare(i, r)
		if err != nil {
			errs[i] = err
			continue
		}
		todo = append(todo, p)
		if want[p.phys] == nil {
			want[p.phys] = map[uuid.UUID]struct{}{}
		}
		for _, id := range p.ids {
			want[p.phys][id] = struct{}{}
		}
	}
	if len(todo) == 0 {
		return results, errs, nil
	}

	tails, tailErrs, err := s.scanTails(ctx, want)
	if err != nil {
		return nil, nil, fmt.Errorf("kurrentdb: append: %w", err)
	}

	outs := make([]*pending, len(reqs))
	var writes []*write
	var stop error
	for _, p := range todo {
		switch {
		case stop != nil:
			errs[p.i] = stop
			continue
		case tailErrs[p.phys] != nil:
			errs[p.i] = fmt.Errorf("kurrentdb: append to %s: %w", p.stream, tailErrs[p.phys])
			continue
		}
		out, w, err := s.appendOne(ctx, p, reqs[p.i].Expected, tails[p.phys], want[p.phys])
		if w != nil {
			writes = append(writes, w)
		}
		if err != nil {
			errs[p.i] = fmt.Errorf("kurrentdb: append to %s: %w", p.stream, err)
			if (errors.Is(err, domain.ErrUnavailable) && !errors.Is(err, errContention)) || ctx.Err() != nil {
				stop = errs[p.i]
			}
			continue
		}
		outs[p.i] = out
	}

	s.readBack(ctx, writes)
	var last domain.Position
	for i, out := range outs {
		if out == nil {
			continue
		}
		res, err := out.result()
		if err != nil {
			errs[i] = fmt.Errorf("kurrentdb: append to %s: written, but %w", reqs[i].Stream, err)
			continue
		}
		results[i] = res
		for _, p := range res.Positions {
			if last.Less(p) {
				last = p
			}
		}
	}
	s.watch.advance(last) // local waiters need not wait for the subscription
	return results, errs, nil
}

// prepare validates a request and maps its events.
func (s *Store) prepare(i int, r domain.AppendRequest) (*request, error) {
	phys, err := s.names.physical(r.Stream)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: append: %w", err)
	}
	if r.Expected < domain.AnyVersion {
		return nil, fmt.Errorf("kurrentdb: append to %s: expected version %d: %w", r.Stream, r.Expected, domain.ErrInvalidEvent)
	}
	p := &request{i: i, stream: r.Stream, phys: phys, ids: make([]uuid.UUID, len(r.Events)), data: make([]kurrentdb.EventData, len(r.Events))}
	seen := make(map[uuid.UUID]bool, len(r.Events))
	for j, e := range r.Events {
		d, err := toEventData(e, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("kurrentdb: append to %s: event %d: %w", r.Stream, j, err)
		}
		if seen[d.EventID] {
			return nil, fmt.Errorf("kurrentdb: append to %s: event id %s twice in one request: %w", r.Stream, d.EventID, domain.ErrInvalidEvent)
		}
		seen[d.EventID] = true
		p.ids[j], p.data[j] = d.EventID, d
	}
	return p, nil
}

// scanTails reads every stream's tail in parallel. An error that is the
// cluster's (unavailable, ctx) fails the batch; another (a tombstoned
// stream) fails only that stream's requests.
func (s *Store) scanTails(ctx context.Context, want map[string]map[uuid.UUID]struct{}) (map[string]*tail, map[string]error, error) {
	streams := make([]string, 0, len(want))
	for phys := range want {
		streams = append(streams, phys)
	}
	got := make([]*tail, len(streams))
	errs := make([]error, len(streams))
	s.parallel(len(streams), func(k int) {
		got[k], errs[k] = s.scanTail(ctx, streams[k], want[streams[k]])
	})
	tails := make(map[string]*tail, len(streams))
	tailErrs := map[string]error{}
	for k, phys := range streams {
		if err := errs[k]; err != nil {
			if ctx.Err() != nil || errors.Is(err, domain.ErrUnavailable) || !isDomainError(err) {
				return nil, nil, err
			}
			tailErrs[phys] = err
			continue
		}
		tails[phys] = got[k]
	}
	return tails, tailErrs, nil
}

func isDomainError(err error) bool {
	return errors.Is(err, domain.ErrNotFound) || errors.Is(err, domain.ErrWrongExpectedVersion) ||
		errors.Is(err, domain.ErrInvalidEvent)
}

// appendOne plans and appends one request, looking at the stream again
// when another writer got there between our read and our append. It
// returns the write it made, if it made one.
func (s *Store) appendOne(ctx context.Context, p *request, expected domain.ExpectedVersion, t *tail,
	want map[uuid.UUID]struct{}) (*pending, *write, error) {
	for attempt := 1; ; attempt++ {
		d := plan(expected, p.ids, t)
		switch {
		case d.dup:
			return p.outcome(d, t, nil), nil, nil
		case d.conflict:
			return nil, nil, fmt.Errorf("stream at version %d, expected %d: %w", t.version, expected, domain.ErrWrongExpectedVersion)
		}
		events := make([]kurrentdb.EventData, len(d.fresh))
		ids := make([]uuid.UUID, len(d.fresh))
		for k, j := range d.fresh {
			events[k], ids[k] = p.data[j], p.ids[j]
		}
		_, err := call(s, ctx, func(ctx context.Context, c *kurrentdb.Client) (*kurrentdb.WriteResult, error) {
			return c.AppendToStream(ctx, p.phys, kurrentdb.AppendToStreamOptions{StreamState: expectState(d.expect), RequiresLeader: true}, events...)
		})
		if err == nil {
			w := &write{phys: p.phys, first: d.expect + 1, ids: ids}
			out := p.outcome(d, t, w)
			t.record(d, p.ids, w)
			return out, w, nil
		}
		if !errors.Is(err, domain.ErrWrongExpectedVersion) {
			return nil, nil, err
		}
		if attempt == maxAttempts {
			if expected == domain.AnyVersion {
				return nil, nil, fmt.Errorf("%d attempts: %w: %w", maxAttempts, errContention, domain.ErrUnavailable)
			}
			return nil, nil, err
		}
		if attempt > 2 { // a busy stream: let the others through
			if err := sleep(ctx, time.Duration(rand.IntN(attempt*2)+1)*time.Millisecond); err != nil {
				return nil, nil, err
			}
		}
		fresh, err := s.scanTail(ctx, p.phys, want)
		if err != nil {
			return nil, nil, err
		}
		*t = *fresh
	}
}

// outcome is the request's result as planned: stored events where they
// are, new ones at the versions after d.expect, in w.
func (p *request) outcome(d decision, t *tail, w *write) *pending {
	out := &pending{refs: make([]stored, len(p.ids)), dups: make([]bool, len(p.ids)), streamVersion: t.version}
	for j, id := range p.ids {
		if st, ok := t.found[id]; ok {
			out.refs[j], out.dups[j] = st, true
		}
	}
	for k, j := range d.fresh {
		out.refs[j] = stored{version: d.expect + 1 + int64(k), w: w, j: k}
	}
	if !d.dup {
		out.streamVersion = d.expect + int64(len(d.fresh))
	}
	return out
}

// result resolves the positions of events written by this batch.
func (o *pending) result() (domain.AppendResult, error) {
	res := domain.AppendResult{
		Positions:     make([]domain.Position, len(o.refs)),
		Versions:      make([]int64, len(o.refs)),
		Duplicates:    o.dups,
		StreamVersion: o.streamVersion,
	}
	for j, r := range o.refs {
		res.Versions[j], res.Positions[j] = r.version, r.pos
		if r.w != nil {
			if r.w.err != nil {
				return domain.AppendResult{}, r.w.err
			}
			res.Positions[j] = r.w.pos[r.j]
		}
	}
	return res, nil
}

// readBack reads the positions of the batch's writes in parallel, trying
// each up to three times: the events are stored, only the answer is at stake.
func (s *Store) readBack(ctx context.Context, writes []*write) {
	s.parallel(len(writes), func(k int) {
		w := writes[k]
		for attempt := 1; ; attempt++ {
			w.pos, w.err = s.positionsOf(ctx, w)
			if w.err == nil || attempt == 3 || !errors.Is(w.err, domain.ErrUnavailable) {
				break
			}
			if sleep(ctx, time.Duration(attempt)*50*time.Millisecond) != nil {
				break
			}
		}
		if w.err != nil {
			w.err = fmt.Errorf("its position could not be read: %w", w.err)
		}
	})
}

// positionsOf reads a write's events back and checks they are the ones written.
func (s *Store) positionsOf(ctx context.Context, w *write) ([]domain.Position, error) {
	return call(s, ctx, func(ctx context.Context, c *kurrentdb.Client) ([]domain.Position, error) {
		out := make([]domain.Position, 0, len(w.ids))
		err := readStreamFn(ctx, c, w.phys, kurrentdb.Revision(revisionOf(w.first)), kurrentdb.Forwards, uint64(len(w.ids)),
			func(r *kurrentdb.RecordedEvent) (bool, error) {
				k := len(out)
				if r.EventID != w.ids[k] || versionOf(r.EventNumber) != w.first+int64(k) {
					return false, fmt.Errorf("kurrentdb: %s version %d holds %s, not the event written (%s)",
						w.phys, versionOf(r.EventNumber), r.EventID, w.ids[k])
				}
				if !hasPosition(r.Position) {
					return false, errNoPositions
				}
				p, err := toPosition(r.Position)
				if err != nil {
					return false, err
				}
				out = append(out, p)
				return len(out) < len(w.ids), nil
			})
		if err == nil && len(out) != len(w.ids) {
			err = fmt.Errorf("kurrentdb: %s: %d of %d written events found", w.phys, len(out), len(w.ids))
		}
		return out, err
	})
}

// parallel runs fn(0..n-1) with at most Options.Concurrency at a time.
func (s *Store) parallel(n int, fn func(k int)) {
	if n == 1 {
		fn(0)
		return
	}
	sem := make(chan struct{}, s.opts.Concurrency)
	var wg sync.WaitGroup
	for k := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(k)
		}()
	}
	wg.Wait()
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
