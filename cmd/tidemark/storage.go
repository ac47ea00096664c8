package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/tidemark/tidemark/adapters/postgres"
	"github.com/tidemark/tidemark/adapters/sqlite"
	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/migrations"
)

// storage is what a database URL opens: the event log and the bun handle
// the read models and the quarantine are written through.
type storage struct {
	Events  domain.EventStore
	DB      *bun.DB // writes: read models, checkpoints, quarantine
	ReadDB  *bun.DB // queries (a replica when configured)
	Dialect string  // migrations.Postgres or migrations.SQLite
	Ping    func(ctx context.Context) error
	close   func() error
}

func (s *storage) Close() error { return s.close() }

// openStorage opens the database named by url: sqlite://PATH (also a bare
// path or file:PATH) or postgres:// / postgresql://. Migrations run at open.
func openStorage(ctx context.Context, url string, poll time.Duration, clock domain.Clock) (*storage, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		st, err := postgres.Open(ctx, url, postgres.Options{PollInterval: poll, Clock: clock})
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		return &storage{Events: st, DB: st.DB(), ReadDB: st.DB(), Dialect: migrations.Postgres,
			Ping: st.Ping, close: st.Close}, nil
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite://"), "file:")
		if path == "" {
			return nil, fmt.Errorf("database URL %q names no file", url)
		}
		st, err := sqlite.Open(ctx, path, sqlite.Options{PollInterval: poll, Clock: clock})
		if err != nil {
			return nil, fmt.Errorf("open SQLite %s: %w", path, err)
		}
		ping := func(ctx context.Context) error { return st.DB().PingContext(ctx) }
		return &storage{Events: st, DB: st.DB(), ReadDB: st.ReaderDB(), Dialect: migrations.SQLite,
			Ping: ping, close: st.Close}, nil
	}
}
