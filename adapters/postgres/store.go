package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/migrations"
)

// Options tune a Store. The zero value is usable.
type Options struct {
	// PollInterval bounds how long WaitForEvents sleeps without a
	// notification (a fallback for a lost LISTEN connection and for
	// transactions that hold the read gate without notifying). Default 500ms.
	PollInterval time.Duration
	// MaxConns caps the pool; 0 keeps pgxpool's default (or pool_max_conns in the URL).
	MaxConns int32
	// Clock stamps RecordedAt. Default domain.SystemClock{}.
	Clock domain.Clock
}

// DefaultPollInterval is Options.PollInterval when unset.
const DefaultPollInterval = 500 * time.Millisecond

func (o Options) withDefaults() Options {
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Clock == nil {
		o.Clock = domain.SystemClock{}
	}
	return o
}

// Store is the PostgreSQL event store. It is safe for concurrent use.
type Store struct {
	pool     *pgxpool.Pool
	sqlDB    *sql.DB
	bunDB    *bun.DB
	opts     Options
	notifier *notifier
	// scanChunk is defaultScanChunk; tests make it small to cross chunks.
	scanChunk int
}

var _ domain.EventStore = (*Store)(nil)

// Open connects to the database at url (postgres://...), checks that it
// answers and applies pending migrations. A server that cannot be reached
// gives an error wrapping domain.ErrUnavailable.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	pool, err := openPool(ctx, url, opts.MaxConns)
	if err != nil {
		return nil, err
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	if err := migrations.Apply(ctx, sqlDB, migrations.Postgres); err != nil {
		_ = sqlDB.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", interpretError(err))
	}
	return &Store{
		pool:      pool,
		sqlDB:     sqlDB,
		bunDB:     bun.NewDB(sqlDB, pgdialect.New()),
		opts:      opts,
		notifier:  newNotifier(pool.Config().ConnConfig),
		scanChunk: defaultScanChunk,
	}, nil
}

// openPool connects a pool to url, with at most maxConns connections
// (pgxpool's default, or pool_max_conns in the URL, when 0), and checks
// that the server answers.
func openPool(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", interpretError(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", interpretError(err))
	}
	return pool, nil
}

// Pool is the store's connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// DB is a bun handle over the same pool, for read models.
func (s *Store) DB() *bun.DB { return s.bunDB }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", interpretError(err))
	}
	return nil
}

// Close stops the listener and closes the pool.
func (s *Store) Close() error {
	s.notifier.close()
	err := s.bunDB.Close() // closes the *sql.DB; the pool stays open until below
	s.pool.Close()
	if err != nil && !errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("postgres: close: %w", err)
	}
	return nil
}
