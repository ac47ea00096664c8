package sqlite

import (
	"context"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tidemark/tidemark/adapters/internal/sqlerr"
	"github.com/tidemark/tidemark/domain"
)

// InterpretError maps an error of this store's database handles (DB,
// ReaderDB) to the domain errors, as the store's own methods do: e.g. a
// locked or unreadable file becomes domain.ErrUnavailable. For callers
// that query the database beside the event store (the read models).
func InterpretError(err error) error { return interpretError(err) }

// interpretError turns a SQLite failure into a domain error (wrapping both,
// so the original stays visible in logs). It is the only place that knows
// SQLite result codes.
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_CORRUPT,
			sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
		case sqlite3.SQLITE_CONSTRAINT:
			switch se.Code() {
			case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
				// (stream, stream_version) or id taken by a writer we did not see.
				return fmt.Errorf("%w: %w", domain.ErrWrongExpectedVersion, err)
			default: // NOT NULL, CHECK
				return fmt.Errorf("%w: %w", domain.ErrInvalidEvent, err)
			}
		}
	}
	if sqlerr.ConnectionGone(err) {
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
	}
	return err
}

// fail wraps a failed operation: the caller's ctx.Err() when ctx ended
// (SQLite reports an interrupt then), else the interpreted error.
func fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("sqlite: %s: %w", op, cerr)
	}
	return fmt.Errorf("sqlite: %s: %w", op, interpretError(err))
}
