package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"

	"github.com/tidemark/tidemark/domain"
)

// offlineStore is a Store on a localhost port nothing listens on, made
// without Open's first round trip. Discovery gives up after one attempt.
func offlineStore(t *testing.T, opts Options) *Store {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	opts = opts.withDefaults()
	cfg, err := configure(fmt.Sprintf("kurrentdb://127.0.0.1:%d?tls=false&maxDiscoverAttempts=1&discoveryInterval=10", port), opts)
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(cfg, opts)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func (l *link) current() *conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

func (l *link) state(c *conn) (inflight int, shut bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return c.inflight, c.shut
}

// TestLinkReplacesDeadClient: the client closes itself for good when
// discovery fails; the store must then use a new client, so it recovers
// when the cluster is back, and close the dead one.
func TestLinkReplacesDeadClient(t *testing.T) {
	s := offlineStore(t, Options{})
	ctx := context.Background()

	_, err := s.Head(ctx) // discovery fails: the client is now dead
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("first call: %v, want ErrUnavailable", err)
	}
	dead := s.link.current()
	if dead == nil {
		t.Fatal("no client after the first call")
	}
	_, err = s.ReadAll(ctx, domain.Start, 10) // ErrorCodeConnectionClosed: the client is retired
	if !errors.Is(err, domain.ErrUnavailable) || !isClientClosed(err) {
		t.Fatalf("second call: %v, want ErrUnavailable from a closed client", err)
	}
	if cur := s.link.current(); cur != nil {
		t.Fatal("the closed client is still current")
	}
	if inflight, shut := s.link.state(dead); inflight != 0 || !shut {
		t.Fatalf("dead client: %d calls inside, shut=%v; want 0, true", inflight, shut)
	}
	if _, err := s.ReadStream(ctx, "s", 0, 10); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("third call: %v", err)
	}
	if cur := s.link.current(); cur == nil || cur == dead {
		t.Fatal("the third call did not get a new client")
	}
}

// TestCallHonoursCtx: a call returns when its bound comes, though the
// client (here fn) ignores ctx; the client is released once fn returns.
func TestCallHonoursCtx(t *testing.T) {
	s := offlineStore(t, Options{Timeout: 50 * time.Millisecond})
	release := make(chan struct{})
	stuck := func(context.Context, *kurrentdb.Client) (int, error) {
		<-release
		return 1, nil
	}

	start := time.Now()
	_, err := call(s, context.Background(), stuck)
	if !errors.Is(err, domain.ErrUnavailable) || time.Since(start) > time.Second {
		t.Fatalf("after Timeout: %v after %v, want ErrUnavailable after ~50ms", err, time.Since(start))
	}
	c := s.link.current()
	if inflight, _ := s.link.state(c); inflight != 1 {
		t.Fatalf("%d calls inside the client, want the stuck one", inflight)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := call(s, ctx, stuck); !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %v, want context.Canceled", err)
	}

	// Close while calls are inside: the client stays open until they leave.
	_ = s.Close()
	if _, shut := s.link.state(c); shut {
		t.Fatal("client closed with calls inside it")
	}
	close(release)
	deadline := time.Now().Add(2 * time.Second)
	for {
		inflight, shut := s.link.state(c)
		if inflight == 0 && shut {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the calls left: %d inside, shut=%v", inflight, shut)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := call(s, context.Background(), stuck); !errors.Is(err, errClosed) {
		t.Fatalf("call after Close: %v, want errClosed", err)
	}
}

// TestCallRetriesOnceOnNotLeader: a follower's "not leader" did nothing
// and the client reconnects to the leader it names, so the call is made
// once more; a second refusal is the caller's ErrUnavailable.
func TestCallRetriesOnceOnNotLeader(t *testing.T) {
	s := offlineStore(t, Options{})
	tries := 0
	got, err := call(s, context.Background(), func(context.Context, *kurrentdb.Client) (string, error) {
		tries++
		if tries == 1 {
			return "", clientError(t, kurrentdb.ErrorCodeNotLeader, nil)
		}
		return "leader", nil
	})
	if err != nil || got != "leader" || tries != 2 {
		t.Fatalf("got %q, %v after %d tries; want the second try's answer", got, err, tries)
	}
	tries = 0
	_, err = call(s, context.Background(), func(context.Context, *kurrentdb.Client) (string, error) {
		tries++
		return "", clientError(t, kurrentdb.ErrorCodeNotLeader, nil)
	})
	if !errors.Is(err, domain.ErrUnavailable) || tries != 2 {
		t.Fatalf("%v after %d tries; want ErrUnavailable after 2", err, tries)
	}
}
