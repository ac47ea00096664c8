package sqlite

import (
	"context"
	"sync"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// notifier wakes every waiter at once: waiters take the current channel,
// broadcast closes it and puts a fresh one in its place.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (n *notifier) init() { n.ch = make(chan struct{}) }

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

func (n *notifier) broadcast() {
	n.mu.Lock()
	defer n.mu.Unlock()
	close(n.ch)
	n.ch = make(chan struct{})
}

// WaitForEvents returns nil at once when events after the position are
// readable; otherwise it blocks until this Store commits, PollInterval
// passes (appends of other processes are found by the caller's re-read), or
// ctx ends (then it returns ctx.Err()).
func (s *Store) WaitForEvents(ctx context.Context, after domain.Position) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	woken := s.notify.wait() // before reading the head, so no commit slips between
	head, err := s.Head(ctx)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return err
	}
	if after.Less(head) {
		return nil
	}
	timer := time.NewTimer(s.opts.PollInterval)
	defer timer.Stop()
	select {
	case <-woken:
		return nil
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return errClosed
	}
}
