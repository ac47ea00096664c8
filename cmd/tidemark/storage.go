package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/tidemark/tidemark/adapters/kurrentdb"
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
	// Interpret maps the database's errors to the domain errors (for the read models).
	Interpret func(error) error
	close     func() error
}

func (s *storage) Close() error { return s.close() }

// openStorage opens the database named by url: sqlite://PATH (also a bare
// path or file:PATH) or postgres:// / postgresql://. Migrations run at open.
func openStorage(ctx context.Context, url string, poll time.Duration, clock domain.Clock) (*storage, error) {
	if err := checkDatabaseURL(url); err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	switch {
	case isPostgresURL(url):
		st, err := postgres.Open(ctx, url, postgres.Options{PollInterval: poll, Clock: clock})
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		return &storage{Events: st, DB: st.DB(), ReadDB: st.DB(), Dialect: migrations.Postgres,
			Ping: st.Ping, Interpret: postgres.InterpretError, close: st.Close}, nil
	default:
		path := sqlitePath(url)
		st, err := sqlite.Open(ctx, path, sqlite.Options{PollInterval: poll, Clock: clock})
		if err != nil {
			return nil, fmt.Errorf("open SQLite %s: %w", path, err)
		}
		ping := func(ctx context.Context) error { return st.DB().PingContext(ctx) }
		return &storage{Events: st, DB: st.DB(), ReadDB: st.ReaderDB(), Dialect: migrations.SQLite,
			Ping: ping, Interpret: sqlite.InterpretError, close: st.Close}, nil
	}
}

func isPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// sqlitePath is the file a SQLite database URL names.
func sqlitePath(url string) string {
	return strings.TrimPrefix(strings.TrimPrefix(url, "sqlite://"), "file:")
}

// checkDatabaseURL refuses a URL openStorage would misread: empty, a
// SQLite URL naming no file, or another scheme (postgre://... would
// otherwise open a SQLite file of that name).
func checkDatabaseURL(url string) error {
	scheme, _, hasScheme := strings.Cut(url, "://")
	switch {
	case url == "":
		return errors.New("empty: want sqlite://PATH or postgres://HOST/DB")
	case isPostgresURL(url):
		return nil
	case hasScheme && scheme != "sqlite" && scheme != "file":
		return fmt.Errorf("%q: unknown scheme %s://, want sqlite://PATH or postgres://HOST/DB", redactURL(url), scheme)
	case sqlitePath(url) == "":
		return fmt.Errorf("%q names no file", url)
	}
	return nil
}

// openStorageFor opens the database and, when esURL is set, keeps the event
// log in KurrentDB instead (read models, checkpoints, leader locks and the
// quarantine stay in the database).
func openStorageFor(ctx context.Context, dbURL, esURL string, poll time.Duration, clock domain.Clock) (*storage, error) {
	st, err := openStorage(ctx, dbURL, poll, clock)
	if err != nil || esURL == "" {
		return st, err
	}
	ks, err := kurrentdb.Open(ctx, esURL, kurrentdb.Options{PollInterval: poll, Clock: clock})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open KurrentDB event store: %w", err)
	}
	closeDB, pingDB := st.close, st.Ping
	st.Events = ks
	st.close = func() error { return errors.Join(ks.Close(), closeDB()) }
	st.Ping = func(ctx context.Context) error { return errors.Join(pingDB(ctx), ks.Ping(ctx)) }
	return st, nil
}
