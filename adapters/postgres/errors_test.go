package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tidemark/tidemark/adapters/testdb"
	"github.com/tidemark/tidemark/domain"
)

func TestInterpretError(t *testing.T) {
	t.Parallel()
	pg := func(code, constraint string) error {
		return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, ConstraintName: constraint})
	}
	cases := []struct {
		name string
		err  error
		want error // nil: returned unchanged
	}{
		{"admin shutdown", pg("57P01", ""), domain.ErrUnavailable},
		{"crash shutdown", pg("57P02", ""), domain.ErrUnavailable},
		{"cannot connect now", pg("57P03", ""), domain.ErrUnavailable},
		{"connection failure", pg("08006", ""), domain.ErrUnavailable},
		{"read only", pg("25006", ""), domain.ErrUnavailable},
		{"disk full", pg("53100", ""), domain.ErrUnavailable},
		{"too many connections", pg("53300", ""), domain.ErrUnavailable},
		{"deadlock", pg("40P01", ""), domain.ErrUnavailable},
		{"version taken", pg("23505", constraintStreamVersion), domain.ErrWrongExpectedVersion},
		{"bad json", pg("22P02", ""), domain.ErrInvalidEvent},
		{"eof", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), domain.ErrUnavailable},
		{"net", &net.OpError{Op: "dial", Err: errors.New("refused")}, domain.ErrUnavailable},
		{"syntax error is a bug, not an outage", pg("42601", ""), nil},
		{"other error", errors.New("boom"), nil},
	}
	for _, c := range cases {
		got := interpretError(c.err)
		if c.want == nil {
			if got != c.err {
				t.Errorf("%s: got %v, want the error unchanged", c.name, got)
			}
			continue
		}
		if !errors.Is(got, c.want) || !errors.Is(got, c.err) {
			t.Errorf("%s: got %v, want %v wrapping the cause", c.name, got, c.want)
		}
	}
	for _, ctxErr := range []error{context.Canceled, context.DeadlineExceeded} {
		wrapped := fmt.Errorf("query: %w", ctxErr)
		if got := interpretError(wrapped); got != wrapped {
			t.Errorf("%v: got %v, want it passed through", ctxErr, got)
		}
	}
	if interpretError(nil) != nil {
		t.Error("nil became an error")
	}
}

func TestOpenClosedPortIsUnavailable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = Open(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/x?sslmode=disable&connect_timeout=5", port), Options{})
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

// adminExec runs sql on the test server's admin database.
func adminExec(t *testing.T, sql string) {
	t.Helper()
	ctx := ctxT(t)
	conn, err := pgx.Connect(ctx, testdb.ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func dbName(t *testing.T, s *Store) string {
	t.Helper()
	var name string
	if err := s.Pool().QueryRow(ctxT(t), `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

// A server that drops our connections and refuses new ones makes every
// operation fail with ErrUnavailable; when it comes back the store works
// again by itself.
func TestLostServerIsUnavailable(t *testing.T) {
	t.Parallel()
	s, _ := freshStore(t)
	ctx := ctxT(t)
	mustAppend(t, s, domain.AppendRequest{Stream: "a", Expected: domain.NoStream, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}})
	db := dbName(t, s)
	adminExec(t, `ALTER DATABASE `+db+` ALLOW_CONNECTIONS false`)
	t.Cleanup(func() { adminExec(t, `ALTER DATABASE `+db+` ALLOW_CONNECTIONS true`) })
	adminExec(t, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '`+db+`' AND pid <> pg_backend_pid()`)

	_, err := s.Append(ctx, domain.AppendRequest{Stream: "a", Expected: domain.AnyVersion, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}})
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("append: err = %v, want ErrUnavailable", err)
	}
	_, errs, err := s.AppendBatch(ctx, []domain.AppendRequest{{Stream: "b", Expected: domain.AnyVersion, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}}})
	if !errors.Is(err, domain.ErrUnavailable) || errs != nil {
		t.Fatalf("append batch: err = %v errs = %v, want a batch ErrUnavailable", err, errs)
	}
	if _, err := s.ReadAll(ctx, domain.Start, 10); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("read all: err = %v", err)
	}
	if _, err := s.ReadStream(ctx, "a", 0, 10); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("read stream: err = %v", err)
	}
	if _, err := s.Head(ctx); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("head: err = %v", err)
	}
	if _, err := s.Import(ctx, []domain.ImportEvent{{Stream: "c", StreamVersion: 1, NewEvent: ev(newID(), "t", `{}`)}}); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("import: err = %v", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("ping: err = %v", err)
	}
	// WaitForEvents reports nothing but the end of its context.
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	for wctx.Err() == nil {
		if err := s.WaitForEvents(wctx, domain.Start); err != nil && err != wctx.Err() {
			t.Fatalf("wait: err = %v", err)
		}
	}

	adminExec(t, `ALTER DATABASE `+db+` ALLOW_CONNECTIONS true`)
	mustAppend(t, s, domain.AppendRequest{Stream: "a", Expected: 1, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}})
	if got := mustReadAll(t, s, domain.Start); len(got) != 2 {
		t.Fatalf("after recovery: %d events, want 2 (nothing written while down)", len(got))
	}
}

// A read-only server (a standby after failover, or one set read-only) is
// unavailable for writes, not a bug.
func TestReadOnlyIsUnavailable(t *testing.T) {
	t.Parallel()
	s, _ := freshStore(t)
	ctx := ctxT(t)
	db := dbName(t, s)
	adminExec(t, `ALTER DATABASE `+db+` SET default_transaction_read_only = on`)
	adminExec(t, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '`+db+`' AND pid <> pg_backend_pid()`)
	// Let the pool replace the terminated connections first.
	deadline := time.Now().Add(10 * time.Second)
	for s.Ping(ctx) != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	_, err := s.Append(ctx, domain.AppendRequest{Stream: "a", Expected: domain.AnyVersion, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}})
	if code, _ := pgCode(err); !errors.Is(err, domain.ErrUnavailable) || code != "25006" {
		t.Fatalf("append: err = %v, want ErrUnavailable from SQLSTATE 25006", err)
	}
	if !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("append: err = %v does not say why", err)
	}
}
