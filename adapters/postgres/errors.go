package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/tidemark/tidemark/adapters/internal/sqlerr"
	"github.com/tidemark/tidemark/domain"
)

// Constraint names from migrations/postgres/0001_events.sql.
const (
	constraintEventID       = "events_pkey"
	constraintStreamVersion = "events_stream_version_key"
)

// InterpretError maps an error of this store's connections, the
// database/sql handle DB gives included, to the domain errors, as the
// store's own methods do: e.g. a server that went away becomes
// domain.ErrUnavailable. For callers that query the database beside the
// event store (the read models).
func InterpretError(err error) error { return interpretError(err) }

// interpretError turns a pgx / pgconn error into a domain error, wrapping
// both so errors.Is works for the domain error and the cause stays visible.
// Context errors pass through unchanged. It is the only place that knows
// PostgreSQL error codes.
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, domain.ErrUnavailable) || errors.Is(err, domain.ErrWrongExpectedVersion) ||
		errors.Is(err, domain.ErrInvalidEvent) {
		return err // already interpreted
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch code := pgErr.Code; {
		case strings.HasPrefix(code, "08"), // connection exception
			code == "57P01", code == "57P02", code == "57P03", // admin / crash shutdown, cannot connect now
			code == "57014",                  // query canceled (statement_timeout)
			code == "25006",                  // read-only transaction (hot standby, default_transaction_read_only)
			strings.HasPrefix(code, "53"),    // insufficient resources: disk full, out of memory, too many connections
			code == "40001", code == "40P01", // serialization failure, deadlock: retrying helps
			code == "55P03": // lock not available
			return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
		case code == "23505" && pgErr.ConstraintName == constraintStreamVersion:
			return fmt.Errorf("%w: %w", domain.ErrWrongExpectedVersion, err)
		case strings.HasPrefix(code, "22"), // data exception: bad JSON, bad UUID, NUL in text
			code == "23502", code == "23514", // not null, check
			code == "54000": // program limit exceeded: a value over an index's row size
			return fmt.Errorf("%w: %w", domain.ErrInvalidEvent, err)
		}
		return err
	}
	if isConnectionFailure(err) {
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
	}
	return err
}

// isConnectionFailure reports errors of the transport rather than of the
// statement: the server went away or the pool is closed.
func isConnectionFailure(err error) bool {
	var netErr net.Error
	switch {
	case errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, puddle.ErrClosedPool),
		sqlerr.ConnectionGone(err), // through database/sql (DB)
		pgconn.SafeToRetry(err),    // "conn closed" / "conn busy": nothing was sent
		pgconn.Timeout(err):
		return true
	}
	return false
}

// pgCode returns the SQLSTATE of err and the constraint it names, if any.
func pgCode(err error) (code, constraint string) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code, pgErr.ConstraintName
	}
	return "", ""
}

// isRetryable reports errors after which the same request, tried again in a
// fresh savepoint or transaction, may succeed: another writer committed the
// same event id or stream version first (an import, or a writer of another
// stream), or a deadlock / serialization failure.
func isRetryable(err error) bool {
	code, constraint := pgCode(err)
	switch code {
	case "40001", "40P01":
		return true
	case "23505":
		return constraint == constraintEventID || constraint == constraintStreamVersion || constraint == "streams_pkey"
	}
	return false
}
