package api_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/tidemark/tidemark/adapters/groupcommit"
	"github.com/tidemark/tidemark/adapters/postgres"
	"github.com/tidemark/tidemark/adapters/sqlite"
	"github.com/tidemark/tidemark/adapters/testdb"
	"github.com/tidemark/tidemark/api"
	"github.com/tidemark/tidemark/api/quarantine"
	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/projections"
)

// backend opens a real store of one kind on a fresh database.
type backend struct {
	name      string
	open      func(t testing.TB) (domain.EventStore, *bun.DB)
	interpret func(error) error // the adapter's error mapping, as serve gives the Reader
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t testing.TB) (domain.EventStore, *bun.DB) {
			st, err := sqlite.Open(context.Background(), testdb.SQLitePath(t), sqlite.Options{PollInterval: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st, st.DB()
		}, sqlite.InterpretError},
		{"postgres", func(t testing.TB) (domain.EventStore, *bun.DB) {
			st, err := postgres.Open(context.Background(), testdb.PostgresURL(t), postgres.Options{PollInterval: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st, st.DB()
		}, postgres.InterpretError},
	}
}

// forEachBackend runs f once per store kind, as parallel subtests.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// harness is a real server over a real store.
type harness struct {
	url        string
	store      domain.EventStore
	db         *bun.DB
	quarantine *quarantine.Store
	server     *api.Server
	runner     *projections.Runner
}

// waitCaughtUp waits until the log holds want events and every projection
// has applied them. (On PostgreSQL the readable head trails concurrent
// writers, the projections' own transactions included, so it is polled.)
func (h *harness) waitCaughtUp(t testing.TB, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		events := waitEvents(t, h.store, want)
		if len(events) >= want {
			last := events[len(events)-1].Position
			caught := true
			for _, st := range h.runner.Status() {
				if st.Position.Less(last) {
					caught = false
				}
			}
			if caught {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("projections did not catch up with %d events: %+v", want, h.runner.Status())
}

func newHarness(t testing.TB, b backend, cfg api.Config) *harness {
	t.Helper()
	st, db := b.open(t)
	app := groupcommit.New(st, groupcommit.Options{})
	t.Cleanup(func() { app.Close() })
	q := quarantine.New(db, 0)
	runner, err := projections.New(projections.Config{Store: st, DB: db, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); runner.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	reader, err := projections.NewReader(db, projections.ReaderOptions{Interpret: b.interpret})
	if err != nil {
		t.Fatal(err)
	}
	// Warnings and errors only: the access log would bury them.
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := api.New(cfg, api.Deps{Appender: app, Store: st, Quarantine: q, ReadModels: reader, Projections: runner, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &harness{url: ts.URL, store: st, db: db, quarantine: q, server: srv, runner: runner}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func post(t testing.TB, url, contentType string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func get(t testing.TB, url, token string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// allEvents reads the whole log.
func allEvents(t testing.TB, st domain.EventStore) []domain.Event {
	t.Helper()
	var out []domain.Event
	pos := domain.Start
	for {
		batch, err := st.ReadAll(context.Background(), pos, 1000)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, batch...)
		if len(batch) < 1000 {
			return out
		}
		pos = batch[len(batch)-1].Position
	}
}

// waitEvents reads the whole log until it holds at least want events (or
// 20 s pass). On PostgreSQL the read gate hides events while an older
// transaction, e.g. a projection's, is still open, so a read right after a
// write may not show it yet.
func waitEvents(t testing.TB, st domain.EventStore, want int) []domain.Event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		events := allEvents(t, st)
		if len(events) >= want || time.Now().After(deadline) {
			return events
		}
		time.Sleep(10 * time.Millisecond)
	}
}
