package kurrentdb

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// TestWaitForEventsWithoutServer: with the subscription down (no server),
// WaitForEvents still answers from what the store knows, wakes when it
// learns more, returns nil every PollInterval and ctx.Err() when ctx ends.
func TestWaitForEventsWithoutServer(t *testing.T) {
	const poll = 150 * time.Millisecond
	s := offlineStore(t, Options{PollInterval: poll, Timeout: 200 * time.Millisecond})
	ctx := context.Background()
	s.watch.advance(domain.Position{TxID: 500, Seq: 500}) // as an append of this store does

	start := time.Now()
	if err := s.WaitForEvents(ctx, domain.Position{TxID: 400, Seq: 400}); err != nil || time.Since(start) > poll/2 {
		t.Fatalf("events readable: %v after %v, want nil at once", err, time.Since(start))
	}

	start = time.Now()
	if err := s.WaitForEvents(ctx, domain.Position{TxID: 500, Seq: 500}); err != nil {
		t.Fatalf("at the head: %v", err)
	}
	if d := time.Since(start); d < poll*8/10 || d > 5*poll {
		t.Fatalf("at the head: returned after %v, want about PollInterval (%v)", d, poll)
	}

	woken := make(chan error, 1)
	slow := offlineStore(t, Options{PollInterval: time.Minute, Timeout: 200 * time.Millisecond})
	slow.watch.advance(domain.Position{TxID: 500, Seq: 500})
	go func() { woken <- slow.WaitForEvents(ctx, domain.Position{TxID: 500, Seq: 500}) }()
	time.Sleep(50 * time.Millisecond)
	slow.watch.advance(domain.Position{TxID: 400, Seq: 400}) // backwards: no wake
	select {
	case err := <-woken:
		t.Fatalf("woken by an older position: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	slow.watch.advance(domain.Position{TxID: 500, Seq: 501})
	select {
	case err := <-woken:
		if err != nil {
			t.Fatalf("woken: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("not woken by a newer position")
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.WaitForEvents(canceled, domain.Start); !errors.Is(err, context.Canceled) {
		t.Fatalf("ended ctx: %v", err)
	}
	deadline, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	slowWait := slow.WaitForEvents(deadline, domain.Position{TxID: 900, Seq: 900})
	if !errors.Is(slowWait, context.DeadlineExceeded) {
		t.Fatalf("ctx ending while waiting: %v", slowWait)
	}

	closing := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(closing); d > 2*time.Second {
		t.Fatalf("Close took %v with the watcher retrying", d)
	}
	if err := s.WaitForEvents(ctx, domain.Start); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("after Close: %v, want ErrUnavailable", err)
	}
}

// TestSubscribeWithoutServer: while no node answers, Subscribe keeps
// trying; it returns ctx's error when ctx ends, and errClosed when the
// store closes.
func TestSubscribeWithoutServer(t *testing.T) {
	s := offlineStore(t, Options{Timeout: 100 * time.Millisecond})
	never := func(domain.Event) error { t.Error("an event without a server"); return nil }

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := s.Subscribe(ctx, domain.Start, never); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ctx ended: %v", err)
	}

	done := make(chan error, 1)
	go func() { done <- s.Subscribe(context.Background(), domain.Position{TxID: 9, Seq: 9}, never) }()
	time.Sleep(100 * time.Millisecond)
	_ = s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, domain.ErrUnavailable) {
			t.Fatalf("store closed: %v, want ErrUnavailable", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Subscribe went on after Close")
	}
}
