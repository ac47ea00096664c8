package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"

	"github.com/tidemark/tidemark/domain"
)

// Subscribe delivers Tidemark's events after the position to fn in $all
// order: first those already stored (catch-up), then new ones as they are
// written. System events and streams outside the prefix are filtered out
// by the server. After a drop (node restart, leader change, network) it
// resubscribes from the last event delivered, so fn sees each event once,
// in order. It returns ctx.Err() when ctx ends, or fn's error.
//
// The position is a projection checkpoint as stored (commit, prepare); see
// the package doc.
func (s *Store) Subscribe(ctx context.Context, after domain.Position, fn func(domain.Event) error) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.life, cancel)() // Close ends the subscription too
	err := s.follow(sctx, after, func(r *kurrentdb.RecordedEvent, stream string, _ domain.Position) error {
		e, err := fromRecorded(r, stream)
		if err != nil {
			return err
		}
		return fn(e)
	})
	if s.isClosed() && ctx.Err() == nil {
		return errClosed
	}
	return err
}

// handlerError carries the error of a subscriber's function out of pump.
type handlerError struct{ err error }

func (h handlerError) Error() string { return h.err.Error() }

type onEvent func(r *kurrentdb.RecordedEvent, stream string, pos domain.Position) error

// follow keeps a catch-up subscription after the position alive, resubscribing
// from the last event delivered after every drop.
func (s *Store) follow(ctx context.Context, after domain.Position, fn onEvent) error {
	retry := newBackoff()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		from, err := fromPosition(after)
		if err != nil {
			return err
		}
		var dropped error
		sub, done, err := s.openSubscription(ctx, from)
		if err == nil {
			dropped = s.pump(ctx, sub, &after, fn, retry.reset)
			done(dropped)
		} else {
			dropped = err
		}
		var herr handlerError
		if errors.As(dropped, &herr) {
			return herr.err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if errors.Is(dropped, errClosed) {
			return dropped
		}
		wait := retry.next()
		s.opts.Logger.Log(ctx, retry.level(), "kurrentdb: $all subscription dropped; resubscribing",
			"after", after.String(), "in", wait, "err", dropped)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// openSubscription starts a $all subscription with the store's filter. Its
// done function closes it and releases the client. The client's first step
// ignores ctx, so it runs aside and the wait is bounded by ctx and Timeout.
func (s *Store) openSubscription(ctx context.Context, from kurrentdb.AllPosition) (*kurrentdb.Subscription, func(error), error) {
	c, err := s.link.acquire()
	if err != nil {
		return nil, nil, err
	}
	type opened struct {
		sub *kurrentdb.Subscription
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		sub, err := c.client.SubscribeToAll(ctx, kurrentdb.SubscribeToAllOptions{From: from, Filter: s.names.filter()})
		ch <- opened{sub, err}
	}()
	timer := time.NewTimer(s.opts.Timeout)
	defer timer.Stop()
	select {
	case o := <-ch:
		if o.err != nil {
			s.link.release(c, o.err)
			return nil, nil, s.fail(ctx, o.err)
		}
		done := func(cause error) {
			_ = o.sub.Close() // always nil
			s.link.release(c, cause)
		}
		return o.sub, done, nil
	case <-ctx.Done():
	case <-timer.C:
	}
	go func() { // let the client finish, then clean up
		o := <-ch
		if o.sub != nil {
			_ = o.sub.Close()
		}
		s.link.release(c, o.err)
	}()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return nil, nil, fmt.Errorf("kurrentdb: subscribe: no answer within %v: %w", s.opts.Timeout, domain.ErrUnavailable)
}

// pump hands the subscription's events after *after to fn, moving *after
// along, until the subscription drops (its error is returned) or fn fails
// (returned as handlerError). A subscription from a position may start
// with that very event, so events not after *after are skipped.
func (s *Store) pump(ctx context.Context, sub *kurrentdb.Subscription, after *domain.Position, fn onEvent, progress func()) error {
	for {
		ev := sub.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			if err := ctx.Err(); err != nil {
				return err
			}
			if ev.SubscriptionDropped.Error != nil {
				return interpretError(ev.SubscriptionDropped.Error)
			}
			return fmt.Errorf("kurrentdb: subscription dropped: %w", domain.ErrUnavailable)
		case ev.EventAppeared != nil:
			r := ev.EventAppeared.OriginalEvent()
			if r == nil {
				continue
			}
			pos, err := toPosition(r.Position)
			if err != nil {
				return handlerError{err}
			}
			if !after.Less(pos) {
				continue
			}
			*after = pos
			progress()
			stream, ok := s.names.logical(r)
			if !ok {
				continue
			}
			if err := fn(r, stream, pos); err != nil {
				return handlerError{err}
			}
		case ev.CheckPointReached != nil, ev.CaughtUp != nil:
			progress() // the subscription is healthy
		}
	}
}

// backoff spaces resubscriptions: 50ms doubling to 5s, back to 50ms once a
// subscription works again.
type backoff struct{ d time.Duration }

func newBackoff() *backoff { return &backoff{} }

func (b *backoff) next() time.Duration {
	b.d = min(max(b.d*2, 50*time.Millisecond), 5*time.Second)
	return b.d
}

func (b *backoff) reset() { b.d = 0 }

// level is Debug for a passing drop, Warn once the waits are at their
// longest (the cluster has been unreachable for a while).
func (b *backoff) level() slog.Level {
	if b.d >= 5*time.Second {
		return slog.LevelWarn
	}
	return slog.LevelDebug
}
