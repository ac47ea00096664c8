package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/tidemark/tidemark/domain"
)

// Import writes the events in one transaction with multi-row INSERTs of
// rowsPerInsert rows (the driver re-parses a prepared statement at every
// execution, so fewer, larger statements are what saves time). Events whose
// id is already stored are skipped (ON CONFLICT (id) DO NOTHING); an event
// that takes a (stream, version) held by another id fails the whole import
// with domain.ErrWrongExpectedVersion. A zero RecordedAt is stamped from the
// clock. It returns how many events were written.
func (s *Store) Import(ctx context.Context, events []domain.ImportEvent) (int64, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	if len(events) == 0 {
		return 0, nil
	}
	now := s.opts.Clock.Now().UTC().UnixMicro()
	rows := make([]eventRow, len(events))
	for i, e := range events {
		if e.Stream == "" || e.StreamVersion < 1 {
			return 0, fmt.Errorf("sqlite: import event %d (%s): stream %q version %d: %w",
				i, e.ID, e.Stream, e.StreamVersion, domain.ErrInvalidEvent)
		}
		if err := validateEvent(e.NewEvent); err != nil {
			return 0, fmt.Errorf("sqlite: import event %d: %w", i, err)
		}
		at := now
		if !e.RecordedAt.IsZero() {
			at = e.RecordedAt.UnixMicro()
		}
		row, err := newRow(e.Stream, e.StreamVersion, e.NewEvent, at)
		if err != nil {
			return 0, fmt.Errorf("sqlite: import: %w", err)
		}
		rows[i] = row
	}

	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return 0, fail(ctx, "import: begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	full := strings.Replace(insertSQL(rowsPerInsert, ""), "INSERT", "INSERT OR IGNORE", 1)
	var written int64
	for start := 0; start < len(rows); start += rowsPerInsert {
		chunk := rows[start:min(start+rowsPerInsert, len(rows))]
		query := full
		if len(chunk) < rowsPerInsert {
			query = strings.Replace(insertSQL(len(chunk), ""), "INSERT", "INSERT OR IGNORE", 1)
		}
		r, err := tx.ExecContext(ctx, query, rowArgs(chunk)...)
		if err != nil {
			return 0, fail(ctx, fmt.Sprintf("import events %d-%d", start, start+len(chunk)-1), err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return 0, fail(ctx, "import", err)
		}
		written += n
	}
	if err := tx.Commit(); err != nil {
		return 0, fail(ctx, "import: commit", err)
	}
	s.notify.broadcast()
	return written, nil
}
