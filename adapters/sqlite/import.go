package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tidemark/tidemark/domain"
)

// Import writes the events in one transaction with multi-row INSERT OR
// IGNORE statements of rowsPerInsert rows (the driver re-parses a prepared
// statement at every execution, so fewer, larger statements are what saves
// time). Events whose id is already stored are skipped; the ids are looked
// up first, so an event refused for another reason (its (stream, version)
// is held by another id) is noticed and fails the whole import with
// domain.ErrWrongExpectedVersion. A zero RecordedAt is stamped from the
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

	var written int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.id
		}
		known, err := lookupIDs(ctx, tx, ids)
		if err != nil {
			return err
		}
		want := int64(0) // distinct ids not stored yet: each must be written
		for _, r := range rows {
			if _, ok := known[r.id]; !ok {
				known[r.id] = stored{}
				want++
			}
		}
		full := insertSQL("INSERT OR IGNORE", rowsPerInsert, "")
		for start := 0; start < len(rows); start += rowsPerInsert {
			chunk := rows[start:min(start+rowsPerInsert, len(rows))]
			query := full
			if len(chunk) < rowsPerInsert {
				query = insertSQL("INSERT OR IGNORE", len(chunk), "")
			}
			r, err := tx.ExecContext(ctx, query, rowArgs(chunk)...)
			if err != nil {
				return fail(ctx, fmt.Sprintf("import events %d-%d", start, start+len(chunk)-1), err)
			}
			n, err := r.RowsAffected()
			if err != nil {
				return fail(ctx, "import", err)
			}
			written += n
		}
		if written != want {
			return fmt.Errorf("sqlite: import: %d of %d new events written, the others take a (stream, version) already held: %w",
				written, want, domain.ErrWrongExpectedVersion)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.notify.broadcast()
	return written, nil
}
