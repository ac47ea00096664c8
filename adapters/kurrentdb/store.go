package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"

	"github.com/tidemark/tidemark/domain"
)

// Store is the event log in KurrentDB. It is safe for concurrent use.
type Store struct {
	opts  Options
	names names
	link  *link
	watch *watcher

	life       context.Context // ends at Close: stops the watcher
	stop       context.CancelFunc
	bg         sync.WaitGroup
	watchStart sync.Once
	closed     atomic.Bool
	closeOnce  sync.Once
}

var _ domain.EventStore = (*Store)(nil)

// Open connects to KurrentDB with a connection string such as
//
//	kurrentdb://admin:changeit@node1:2113,node2:2113,node3:2113?tlsCAFile=/etc/tidemark/ca.crt
//	kurrentdb+discover://admin:changeit@cluster.example.com:2113
//	esdb://localhost:2113?tls=false
//
// (the client's own parameters: tls, tlsVerifyCert, tlsCAFile,
// userCertFile, userKeyFile, nodePreference, defaultDeadline, keepAlive*,
// discovery*; plus Tidemark's streamPrefix). It makes one round trip
// (the last record of $all) within ConnectTimeout, so a cluster that
// cannot be reached, or credentials that may not read $all, fail here with
// domain.ErrUnavailable rather than at the first callback.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	conn, prefix, err := splitURL(url)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: %w", err)
	}
	if opts.StreamPrefix == "" {
		opts.StreamPrefix = prefix
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	cfg, err := configure(conn, opts)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: %w", err)
	}
	s := newStore(cfg, opts)
	pctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	if err := s.Ping(pctx); err != nil {
		_ = s.Close()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %v: %w", opts.ConnectTimeout, domain.ErrUnavailable)
		}
		return nil, fmt.Errorf("kurrentdb: open %s: %w", redact(url), interpretError(err))
	}
	return s, nil
}

// newStore makes a Store without contacting the server.
func newStore(cfg *kurrentdb.Configuration, opts Options) *Store {
	life, stop := context.WithCancel(context.Background())
	return &Store{
		opts:  opts,
		names: names{prefix: opts.StreamPrefix},
		link:  newLink(cfg),
		watch: newWatcher(),
		life:  life,
		stop:  stop,
	}
}

// Close stops the watcher and releases the client. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.stop()
		s.bg.Wait()
		s.link.close()
	})
	return nil
}

func (s *Store) isClosed() bool { return s.closed.Load() }
