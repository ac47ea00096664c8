package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidemark/tidemark/adapters/testdb"
	"github.com/tidemark/tidemark/domain"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// openStore opens a store on url, closed when the test ends.
func openStore(t testing.TB, url string, opts Options) *Store {
	t.Helper()
	if opts.MaxConns == 0 {
		opts.MaxConns = 4
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, url, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// freshStore opens a store on a fresh database.
func freshStore(t testing.TB) (*Store, string) {
	t.Helper()
	url := testdb.PostgresURL(t)
	return openStore(t, url, Options{}), url
}

var idCounter atomic.Uint64

// newID returns a distinct UUID (version 4 layout) for test events.
func newID() string {
	n := idCounter.Add(1)
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", n)
}

func ev(id, typ, data string) domain.NewEvent {
	return domain.NewEvent{
		ID: id, Type: typ, Data: json.RawMessage(data), Raw: []byte(data),
		Metadata: domain.Metadata{Source: "test", ReceivedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustAppend(t testing.TB, s domain.EventStore, req domain.AppendRequest) domain.AppendResult {
	t.Helper()
	res, err := s.Append(ctxT(t), req)
	if err != nil {
		t.Fatalf("append %s: %v", req.Stream, err)
	}
	return res
}

// mustReadAll reads the log after `after` once every event committed
// before the call is readable (the read gate holds events back behind any
// transaction of the database still open), so what a test counts does not
// depend on timing. readNow reads once, for tests of the gate itself.
func mustReadAll(t testing.TB, s *Store, after domain.Position) []domain.Event {
	t.Helper()
	var committed int64 // the greatest tx_id committed so far, 0 if none
	if err := s.pool.QueryRow(ctxT(t), `SELECT coalesce(max(tx_id)::text::bigint, 0) FROM events`).Scan(&committed); err != nil {
		t.Fatalf("read all: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		evs := readNow(t, s, after)
		if int64(after.TxID) >= committed || len(evs) > 0 && int64(evs[len(evs)-1].Position.TxID) >= committed ||
			time.Now().After(deadline) {
			return evs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readNow reads the log after `after` as it is readable now.
func readNow(t testing.TB, s domain.EventStore, after domain.Position) []domain.Event {
	t.Helper()
	evs, err := s.ReadAll(ctxT(t), after, 0)
	if err != nil {
		t.Fatalf("read all: %v", err)
	}
	return evs
}
