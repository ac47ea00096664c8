package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// testWaitForEvents: returns at once when events are readable, wakes
// promptly when ANOTHER handle appends, and returns ctx.Err() when ctx ends.
func testWaitForEvents(t *testing.T, open func() domain.EventStore) {
	s, other := open(), open()
	ctx := ctxT(t)
	first := mustAppend(t, s, req(stream("a"), domain.NoStream, ev("x"))).Positions[0]

	start := time.Now()
	if err := s.WaitForEvents(ctx, domain.Start); err != nil {
		t.Fatalf("wait with readable events: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("wait with readable events took %v, want an immediate return", d)
	}

	// A follower on s waits after the head; the append comes from another handle.
	type seen struct {
		at  time.Time
		ids []string
		err error
	}
	seenc := make(chan seen, 1)
	go func() {
		for {
			if err := s.WaitForEvents(ctx, first); err != nil {
				seenc <- seen{err: fmt.Errorf("wait: %w", err)}
				return
			}
			got, err := s.ReadAll(ctx, first, 10)
			if err != nil {
				seenc <- seen{err: fmt.Errorf("read all: %w", err)}
				return
			}
			if len(got) > 0 {
				seenc <- seen{at: time.Now(), ids: ids(got)}
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond) // let the follower block
	e := ev("x")
	appended := time.Now()
	mustAppend(t, other, req(stream("b"), domain.NoStream, e))
	select {
	case got := <-seenc:
		if got.err != nil {
			t.Fatal(got.err)
		}
		if len(got.ids) != 1 || got.ids[0] != e.ID {
			t.Fatalf("follower read %v, want [%s]", got.ids, e.ID)
		}
		if d := got.at.Sub(appended); d > 5*time.Second {
			t.Fatalf("follower saw the other handle's append after %v", d)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("follower never saw the append made on another handle")
	}
	head := mustHead(t, s)

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	wantErr(t, s.WaitForEvents(canceled, head), context.Canceled, "wait with an ended ctx")

	deadline, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	waitUntilCtxEnds(t, s, deadline, head, context.DeadlineExceeded)

	cancelled, cancel := context.WithCancel(ctx)
	time.AfterFunc(100*time.Millisecond, cancel)
	waitUntilCtxEnds(t, s, cancelled, head, context.Canceled)
}

// waitUntilCtxEnds calls WaitForEvents (which may return nil early, at its
// poll interval) until it fails, and checks the failure is ctx's own.
func waitUntilCtxEnds(t *testing.T, s domain.EventStore, ctx context.Context, head domain.Position, want error) {
	t.Helper()
	give := time.Now().Add(15 * time.Second)
	for time.Now().Before(give) {
		err := s.WaitForEvents(ctx, head)
		if err == nil {
			continue
		}
		if ctx.Err() == nil || !errors.Is(err, want) {
			t.Fatalf("wait returned %v while ctx.Err() = %v; want %v once ctx ends", err, ctx.Err(), want)
		}
		return
	}
	t.Fatal("wait never returned ctx.Err() after ctx ended")
}
