package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidemark/tidemark/domain"
)

// notifyChannel is the LISTEN/NOTIFY channel appends notify on commit.
const notifyChannel = "tidemark_events"

// notifier keeps one dedicated connection LISTENing on notifyChannel and
// wakes every waiter on each notification. It starts on first use and
// reconnects after a drop; waiters also poll, so a lost connection only
// slows them down.
type notifier struct {
	cfg *pgx.ConnConfig

	mu      sync.Mutex
	wake    chan struct{} // closed and replaced on every wake-up
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
}

func newNotifier(cfg *pgx.ConnConfig) *notifier {
	cfg = cfg.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "tidemark-listener" // easy to find in pg_stat_activity
	return &notifier{cfg: cfg, wake: make(chan struct{})}
}

// waitChan returns a channel closed at the next wake-up, starting the
// listener if needed.
func (n *notifier) waitChan() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.started && !n.closed {
		n.started = true
		ctx, cancel := context.WithCancel(context.Background())
		n.cancel = cancel
		n.done = make(chan struct{})
		go n.run(ctx)
	}
	return n.wake
}

// broadcast wakes every current waiter.
func (n *notifier) broadcast() {
	n.mu.Lock()
	close(n.wake)
	n.wake = make(chan struct{})
	n.mu.Unlock()
}

func (n *notifier) close() {
	n.mu.Lock()
	n.closed = true
	cancel, done := n.cancel, n.done
	n.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (n *notifier) run(ctx context.Context) {
	defer close(n.done)
	const maxBackoff = 5 * time.Second
	backoff := 100 * time.Millisecond
	for first := true; ctx.Err() == nil; first = false {
		if n.listen(ctx, !first) {
			backoff = 100 * time.Millisecond
		}
		if ctx.Err() != nil {
			return
		}
		n.broadcast() // the connection dropped: let waiters re-read
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listen connects, LISTENs and broadcasts notifications until the
// connection fails or ctx ends. It reports whether LISTEN succeeded.
// After a reconnect it wakes everyone: commits while no one listened went
// unnoticed.
func (n *notifier) listen(ctx context.Context, reconnect bool) bool {
	conn, err := pgx.ConnectConfig(ctx, n.cfg.Copy())
	if err != nil {
		return false
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return false
	}
	if reconnect {
		n.broadcast()
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true
		}
		n.broadcast()
	}
}

// WaitForEvents blocks until events after `after` may be readable, ctx
// ends, or the poll interval passes. It returns ctx.Err() only when ctx
// ends.
func (s *Store) WaitForEvents(ctx context.Context, after domain.Position) error {
	wake := s.notifier.waitChan() // before reading the head, so no wake-up is lost
	if head, err := s.Head(ctx); err == nil && after.Less(head) {
		return nil
	}
	timer := time.NewTimer(s.opts.PollInterval)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wake:
	case <-timer.C:
	}
	return nil
}
