package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/tidemark/tidemark/adapters/testdb"
	"github.com/tidemark/tidemark/domain"
)

// waitReturns runs WaitForEvents in the background and reports how it ended.
func waitReturns(s *Store, ctx context.Context, after domain.Position) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.WaitForEvents(ctx, after) }()
	return done
}

func expectWake(t *testing.T, done <-chan error, within time.Duration, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: WaitForEvents = %v, want nil", what, err)
		}
	case <-time.After(within):
		t.Fatalf("%s: WaitForEvents still blocked after %v", what, within)
	}
}

// An append through another pool (another process, as far as the store
// knows) wakes a waiter through LISTEN/NOTIFY, long before the poll
// interval, also after the listening connection was killed.
func TestWaitWokenByNotify(t *testing.T) {
	t.Parallel()
	s, url := freshStore(t)
	s.opts.PollInterval = time.Hour // only a notification can wake it
	writer := openStore(t, url, Options{})
	ctx := ctxT(t)
	head := mustAppend(t, writer, domain.AppendRequest{Stream: "a", Expected: domain.AnyVersion,
		Events: []domain.NewEvent{ev(newID(), "t", `{}`)}}).Positions[0]

	if err := s.WaitForEvents(ctx, domain.Start); err != nil { // readable already: returns at once
		t.Fatal(err)
	}
	appendOne := func() {
		_, err := writer.Append(ctx, domain.AppendRequest{Stream: "a", Expected: domain.AnyVersion,
			Events: []domain.NewEvent{ev(newID(), "t", `{}`)}})
		if err != nil {
			t.Error(err)
		}
	}
	done := waitReturns(s, ctx, head)
	select {
	case err := <-done:
		t.Fatalf("WaitForEvents returned %v with nothing new", err)
	case <-time.After(300 * time.Millisecond):
	}
	appendOne()
	expectWake(t, done, 5*time.Second, "first notify")

	// Kill the listener; it comes back and notifications flow again.
	var killed int
	if err := writer.Pool().QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'tidemark-listener'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminate listener: %d, %v", killed, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := writer.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'tidemark-listener' AND query LIKE 'LISTEN%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the listener did not come back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	h, err := s.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done = waitReturns(s, ctx, h)
	time.Sleep(100 * time.Millisecond)
	appendOne()
	expectWake(t, done, 5*time.Second, "after reconnect")
}

func TestWaitPollsAndHonoursContext(t *testing.T) {
	t.Parallel()
	url := testdb.PostgresURL(t)
	s := openStore(t, url, Options{PollInterval: 50 * time.Millisecond})
	ctx := ctxT(t)
	start := time.Now()
	if err := s.WaitForEvents(ctx, domain.Start); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 40*time.Millisecond || el > 5*time.Second {
		t.Fatalf("empty log: returned after %v, want about the poll interval", el)
	}
	slow := openStore(t, url, Options{PollInterval: time.Hour})
	cctx, cancel := context.WithCancel(ctx)
	done := waitReturns(slow, cctx, domain.Start)
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("cancelled wait = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled wait did not return")
	}
}
