package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"

	"github.com/tidemark/tidemark/domain"
)

var errClosed = fmt.Errorf("kurrentdb: store closed: %w", domain.ErrUnavailable)

// link holds the current client and replaces it when it dies.
//
// Two traits of the client library shape this. (1) When discovery fails
// (no node answered within MaxDiscoverAttempts) the client closes itself
// for good: every later call fails with ErrorCodeConnectionClosed. link
// then makes a fresh client on the next call, so the store recovers by
// itself when the cluster comes back. (2) A call first asks the client's
// connection loop for a connection over an unbuffered channel, ignoring
// ctx; closing the client while a call waits there makes that call panic
// (send on a closed channel). So a client is closed only once no call of
// ours is inside it, and every call runs in its own goroutine (see call)
// so the caller's ctx is honoured even while the client is stuck.
type link struct {
	cfg    kurrentdb.Configuration
	mu     sync.Mutex
	cur    *conn
	closed bool
}

type conn struct {
	client   *kurrentdb.Client
	inflight int
	retired  bool // no new calls; closed when inflight reaches 0
	shut     bool
}

func newLink(cfg *kurrentdb.Configuration) *link { return &link{cfg: *cfg} }

// acquire returns the current client, making one if needed, and counts the
// call in. Every acquire is paired with a release.
func (l *link) acquire() (*conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errClosed
	}
	if l.cur == nil {
		cfg := l.cfg
		c, err := kurrentdb.NewClient(&cfg)
		if err != nil {
			return nil, fmt.Errorf("kurrentdb: new client: %w", err)
		}
		l.cur = &conn{client: c}
	}
	l.cur.inflight++
	return l.cur, nil
}

// release counts a call out. A call that found its client closed retires
// that client, unless the store itself is closing.
func (l *link) release(c *conn, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.inflight--
	if err != nil && c == l.cur && isClientClosed(err) {
		c.retired = true
		l.cur = nil
	}
	l.shutIfIdle(c)
}

// close retires the current client; it is closed now or when its last call returns.
func (l *link) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.cur != nil {
		l.cur.retired = true
		l.shutIfIdle(l.cur)
		l.cur = nil
	}
}

func (l *link) shutIfIdle(c *conn) {
	if c.retired && c.inflight == 0 && !c.shut {
		c.shut = true
		_ = c.client.Close() // always nil
	}
}

func isClientClosed(err error) bool {
	var kerr *kurrentdb.Error
	return errors.As(err, &kerr) && kerr.Code() == kurrentdb.ErrorCodeConnectionClosed
}

// call runs fn with a client in its own goroutine, bounded by ctx and by
// Options.Timeout. When the bound comes first the caller gets ctx's error
// (its own ctx ended) or domain.ErrUnavailable (the timeout), and fn goes
// on in the background until the client lets go (its ctx is cancelled).
// fn must not touch the caller's variables: it returns what it found.
func call[T any](s *Store, ctx context.Context, fn func(ctx context.Context, c *kurrentdb.Client) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	opCtx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	c, err := s.link.acquire()
	if err != nil {
		cancel()
		return zero, err
	}
	type outcome struct {
		v   T
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		defer cancel()
		v, err := fn(opCtx, c.client)
		if isNotLeader(err) {
			// The node refused (nothing was done) and the client has
			// queued a reconnect to the leader it named: once more.
			v, err = fn(opCtx, c.client)
		}
		s.link.release(c, err)
		done <- outcome{v, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			return zero, s.fail(ctx, o.err)
		}
		return o.v, nil
	case <-opCtx.Done():
		if err := ctx.Err(); err != nil {
			return zero, err
		}
		return zero, fmt.Errorf("kurrentdb: no answer within %v: %w", s.opts.Timeout, domain.ErrUnavailable)
	}
}

// fail turns an error of an operation into what the caller sees: ctx's own
// error when ctx has ended, otherwise the domain error.
func (s *Store) fail(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return interpretError(err)
}

func isNotLeader(err error) bool {
	var kerr *kurrentdb.Error
	return errors.As(err, &kerr) && kerr.Code() == kurrentdb.ErrorCodeNotLeader
}
