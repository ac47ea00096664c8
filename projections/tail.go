package projections

import (
	"context"
	"slices"
	"sync"

	"github.com/tidemark/tidemark/domain"
)

// logTail keeps the newest stretch of the log that a live projection of
// the runner read, so the others, following close behind, take the same
// events from memory instead of reading them again: each projection has
// its own checkpoint, so without it the live log was read once per
// projection (three reads of every event, raw bodies included).
//
// It is correct because a ReadAll batch has no gaps: the events held are
// all of the log's events after `from` up to the last one held, so an
// answer cut from them is what ReadAll would have given. Only a stretch
// that starts where the held one ends, or after it, is kept; a projection
// reading far behind reads on its own and leaves the tail alone.
type logTail struct {
	store domain.EventStore
	max   int // events held: between max and twice max once full

	mu     sync.Mutex
	from   domain.Position
	events []domain.Event // after from, in log order, without raw bodies
	// reading is closed when the store read in flight ends; readers that
	// would read the same stretch wait for it instead (the projections
	// are woken together, so they would all miss at once).
	reading chan struct{}
	readAt  domain.Position
}

var alreadyDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func newLogTail(store domain.EventStore, max int) *logTail {
	return &logTail{store: store, max: max}
}

// ReadAll answers as the store's ReadAll does (the folds read no raw
// bodies, so events come without Raw), from memory as far as it can.
//
// A reader that finds the same store read in flight waits for it and takes
// what the tail then holds, even if short of limit: that read found the
// end of the log as it was, and a short batch only sends the reader to
// WaitForEvents, which returns at once when more events are there.
func (t *logTail) ReadAll(ctx context.Context, after domain.Position, limit int) ([]domain.Event, error) {
	out := t.held(after, limit)
	if len(out) == limit {
		return out, nil
	}
	next := after
	if len(out) > 0 {
		next = out[len(out)-1].Position
	}
	done, wait := t.startRead(next)
	if wait != nil {
		select {
		case <-wait:
			return t.held(after, limit), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	more, err := t.store.ReadAll(ctx, next, limit-len(out))
	for i := range more {
		more[i].Raw = nil
	}
	if err == nil {
		t.keep(next, more)
	}
	done()
	if err != nil {
		return nil, err
	}
	return append(out, more...), nil
}

// startRead claims the store read from next, or returns the channel of the
// same read already in flight to wait on. A read elsewhere in the log is
// not waited for.
func (t *logTail) startRead(next domain.Position) (done func(), wait <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.events); n > 0 && !next.Less(t.from) && next.Less(t.events[n-1].Position) {
		return nil, alreadyDone // a read that ended since held() looked has brought them
	}
	if t.reading != nil {
		if t.readAt == next {
			return nil, t.reading
		}
		return func() {}, nil
	}
	ch := make(chan struct{})
	t.reading, t.readAt = ch, next
	return func() {
		t.mu.Lock()
		t.reading = nil
		t.mu.Unlock()
		close(ch)
	}, nil
}

// held copies up to limit held events after `after`; none when `after` is
// not the start of the tail or one of its events.
func (t *logTail) held(after domain.Position, limit int) []domain.Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := 0
	if after != t.from {
		j, found := slices.BinarySearchFunc(t.events, after, func(e domain.Event, p domain.Position) int {
			switch {
			case e.Position.Less(p):
				return -1
			case p.Less(e.Position):
				return 1
			}
			return 0
		})
		if !found {
			return nil
		}
		i = j + 1
	}
	n := min(limit, len(t.events)-i)
	if n <= 0 {
		return nil
	}
	out := make([]domain.Event, n, limit)
	copy(out, t.events[i:i+n])
	return out
}

// keep adds events, read from the store after `after`, when they continue
// the tail or start a newer stretch, and drops the oldest past max.
func (t *logTail) keep(after domain.Position, events []domain.Event) {
	if len(events) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	last := t.from
	if len(t.events) > 0 {
		last = t.events[len(t.events)-1].Position
	}
	switch {
	case after == last:
		t.events = append(t.events, events...)
	case last.Less(after):
		t.from, t.events = after, append(t.events[:0:0], events...)
	default:
		return // an older stretch: a projection catching up reads on its own
	}
	// Past twice max, back to max in a fresh array, so the dropped events
	// can be freed and the copying stays rare.
	if len(t.events) > 2*t.max {
		drop := len(t.events) - t.max
		t.from = t.events[drop-1].Position
		t.events = append(make([]domain.Event, 0, 2*t.max), t.events[drop:]...)
	}
}
