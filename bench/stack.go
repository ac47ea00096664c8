package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"github.com/tidemark/tidemark/adapters/groupcommit"
	"github.com/tidemark/tidemark/adapters/postgres"
	"github.com/tidemark/tidemark/adapters/sqlite"
	"github.com/tidemark/tidemark/api"
	"github.com/tidemark/tidemark/api/quarantine"
	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/projections"
)

// Storage kinds.
const (
	kindPostgres = "postgres"
	kindSQLite   = "sqlite"
)

// The serve defaults (cmd/tidemark/config.go) the stack is built with.
const (
	pollInterval    = 500 * time.Millisecond
	groupCommitMax  = 256
	projectionBatch = 1000
	quarantineMax   = 5000
)

// store is an opened event store with its bun handles.
type store struct {
	events    domain.EventStore
	db        *bun.DB // writes: read models, checkpoints, quarantine
	readDB    *bun.DB // queries
	interpret func(error) error
	close     func() error
}

// openStore opens a PostgreSQL URL or a SQLite path, migrations applied.
func openStore(ctx context.Context, kind, dsn string) (*store, error) {
	switch kind {
	case kindPostgres:
		st, err := postgres.Open(ctx, dsn, postgres.Options{PollInterval: pollInterval})
		if err != nil {
			return nil, err
		}
		return &store{events: st, db: st.DB(), readDB: st.DB(), interpret: postgres.InterpretError, close: st.Close}, nil
	case kindSQLite:
		st, err := sqlite.Open(ctx, dsn, sqlite.Options{PollInterval: pollInterval})
		if err != nil {
			return nil, err
		}
		return &store{events: st, db: st.DB(), readDB: st.ReaderDB(), interpret: sqlite.InterpretError, close: st.Close}, nil
	}
	return nil, fmt.Errorf("unknown storage kind %q", kind)
}

// stack is Tidemark in this process, wired as `tidemark serve` wires it:
// the store, the group-commit appender, the projections runner following
// the log live, the read side and the HTTP server on a loopback port.
type stack struct {
	kind   string
	st     *store
	app    *groupcommit.Appender
	runner *projections.Runner
	reader *projections.Reader
	hs     *http.Server
	url    string // http://127.0.0.1:port

	stopRunner context.CancelFunc
	runnerDone chan error
	serveDone  chan error
}

// errorLogger is the stack's logger: errors only, to stderr (the access
// path logs nothing at info, so this costs what serve's logger costs).
func errorLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

func startStack(ctx context.Context, kind, dsn string) (*stack, error) {
	st, err := openStore(ctx, kind, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", kind, err)
	}
	log := errorLogger()
	reg := prometheus.NewRegistry()
	s := &stack{kind: kind, st: st, runnerDone: make(chan error, 1), serveDone: make(chan error, 1)}
	flushers := 1 // as serve wires it: SQLite has one writer ...
	if kind == kindPostgres {
		flushers = 4 // ... and PostgreSQL's concurrent commits share a WAL flush
	}
	s.app = groupcommit.New(st.events, groupcommit.Options{MaxBatch: groupCommitMax, Flushers: flushers})
	s.runner, err = projections.New(projections.Config{Store: st.events, DB: st.db, BatchSize: projectionBatch,
		Poison: projections.PoisonSkip, Logger: log, Registry: reg})
	if err != nil {
		s.app.Close()
		st.close()
		return nil, fmt.Errorf("projections: %w", err)
	}
	if s.reader, err = projections.NewReader(st.readDB, projections.ReaderOptions{Interpret: st.interpret, Docs: s.runner.DocCache()}); err != nil {
		s.app.Close()
		st.close()
		return nil, fmt.Errorf("reader: %w", err)
	}
	srv, err := api.New(api.Config{}, api.Deps{
		Appender: s.app, Store: st.events, Quarantine: quarantine.New(st.db, quarantineMax),
		ReadModels: s.reader, Projections: s.runner, Logger: log, Registry: reg,
	})
	if err != nil {
		s.app.Close()
		st.close()
		return nil, fmt.Errorf("api: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.app.Close()
		st.close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.url = "http://" + ln.Addr().String()
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopRunner = stop
	go func() { s.runnerDone <- s.runner.Run(runCtx) }()
	s.hs = api.NewHTTPServer(srv, log)
	go func() { s.serveDone <- s.hs.Serve(ln) }()
	if err := s.waitLive(ctx, 60*time.Second); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// close stops the stack as serve does: HTTP first (in-flight appends
// finish), then the appender, the runner and the store.
func (s *stack) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := s.hs.Shutdown(ctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	s.app.Close()
	s.stopRunner()
	if rerr := <-s.runnerDone; rerr != nil && !errors.Is(rerr, context.Canceled) {
		err = errors.Join(err, fmt.Errorf("projections: %w", rerr))
	}
	return errors.Join(err, s.st.close())
}

// waitLive waits until every projection follows the log live.
func (s *stack) waitLive(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		live := true
		for _, p := range s.runner.Status() {
			if p.State == projections.StateFailed {
				return fmt.Errorf("projection %s failed: %s", p.Name, p.LastError)
			}
			live = live && p.State == projections.StateLive
		}
		if live {
			return nil
		}
		select {
		case err := <-s.runnerDone:
			s.runnerDone <- err
			return fmt.Errorf("projections runner stopped: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("projections not live after %s: %+v", timeout, s.runner.Status())
		}
	}
}

// waitCaughtUp waits until every projection has applied the log up to
// pos. (The store's Head is no target: on PostgreSQL it stops below any
// transaction still open, the projections' own included.)
func (s *stack) waitCaughtUp(ctx context.Context, pos domain.Position, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		done := true
		for _, p := range s.runner.Status() {
			if p.State == projections.StateFailed {
				return fmt.Errorf("projection %s failed: %s", p.Name, p.LastError)
			}
			done = done && !p.Position.Less(pos)
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("projections did not reach %s within %s: %+v", pos, timeout, s.runner.Status())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
