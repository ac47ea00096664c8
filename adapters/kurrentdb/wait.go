package kurrentdb

import (
	"context"
	"sync"
	"time"

	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"

	"github.com/tidemark/tidemark/domain"
)

// watcher knows the latest position of Tidemark's events this store has
// seen, from its own appends, from Head and from a live $all subscription,
// and wakes waiters when it moves. latest only ever holds the position of
// a stored event, so "after < latest" means events after are readable.
type watcher struct {
	mu     sync.Mutex
	latest domain.Position
	wake   chan struct{} // closed and replaced when latest moves
}

func newWatcher() *watcher { return &watcher{wake: make(chan struct{})} }

// advance moves latest forward to p and wakes the waiters.
func (w *watcher) advance(p domain.Position) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.latest.Less(p) {
		w.latest = p
		close(w.wake)
		w.wake = make(chan struct{})
	}
}

func (w *watcher) state() (domain.Position, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latest, w.wake
}

// WaitForEvents returns nil once events after the position are readable,
// at the latest after PollInterval (the caller re-reads), and ctx.Err()
// when ctx ends.
//
// It is woken by one live $all subscription per Store (server-side
// filtered), started on the first call and resubscribed after drops, not
// by polling $all: a subscription costs the cluster nothing while the log
// is quiet and wakes every follower within a round trip of a commit by
// any process. PollInterval only bounds the wait while the subscription
// is down.
func (s *Store) WaitForEvents(ctx context.Context, after domain.Position) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.isClosed() {
		return errClosed
	}
	s.startWatch()
	timer := time.NewTimer(s.opts.PollInterval)
	defer timer.Stop()
	for {
		latest, wake := s.watch.state()
		if after.Less(latest) {
			return nil
		}
		select {
		case <-wake:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// startWatch starts the watcher's subscription once per Store.
func (s *Store) startWatch() {
	s.watchStart.Do(func() {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.watchLoop(s.life)
		}()
	})
}

// watchLoop keeps the live subscription up until the store closes. Each
// time it subscribes (from the end of $all) it then reads Head, so an
// event written before the subscription started is not missed.
func (s *Store) watchLoop(ctx context.Context) {
	retry := newBackoff()
	for ctx.Err() == nil {
		err := s.watchOnce(ctx, retry.reset)
		if ctx.Err() != nil {
			return
		}
		wait := retry.next()
		s.opts.Logger.Log(ctx, retry.level(), "kurrentdb: watch subscription dropped; resubscribing", "in", wait, "err", err)
		if sleep(ctx, wait) != nil {
			return
		}
	}
}

func (s *Store) watchOnce(ctx context.Context, progress func()) error {
	sub, done, err := s.openSubscription(ctx, kurrentdb.End{})
	if err != nil {
		return err
	}
	var dropped error
	defer func() { done(dropped) }()
	head, err := s.Head(ctx)
	if err != nil {
		dropped = err
		return err
	}
	s.watch.advance(head)
	progress()
	after := head
	dropped = s.pump(ctx, sub, &after, func(_ *kurrentdb.RecordedEvent, _ string, pos domain.Position) error {
		s.watch.advance(pos)
		return nil
	}, progress)
	return dropped
}
