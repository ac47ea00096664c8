package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tidemark/tidemark/domain"
)

// Import writes the events in one transaction with one prepared insert;
// events whose id is already stored are skipped (ON CONFLICT(id) DO NOTHING).
// An event that takes a (stream, version) held by another id fails the whole
// import with domain.ErrWrongExpectedVersion. A zero RecordedAt is stamped
// from the clock. It returns how many events were written.
func (s *Store) Import(ctx context.Context, events []domain.ImportEvent) (int64, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	if len(events) == 0 {
		return 0, nil
	}
	metas := make([][]byte, len(events))
	for i, e := range events {
		if e.Stream == "" || e.StreamVersion < 1 {
			return 0, fmt.Errorf("sqlite: import event %d (%s): stream %q version %d: %w",
				i, e.ID, e.Stream, e.StreamVersion, domain.ErrInvalidEvent)
		}
		if err := validateEvent(e.NewEvent); err != nil {
			return 0, fmt.Errorf("sqlite: import event %d: %w", i, err)
		}
		m, err := json.Marshal(e.Metadata)
		if err != nil {
			return 0, fmt.Errorf("sqlite: import event %s: metadata: %v: %w", e.ID, err, domain.ErrInvalidEvent)
		}
		metas[i] = m
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return 0, fail(ctx, "import: begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO events
		(id, stream, stream_version, type, data, raw, metadata, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return 0, fail(ctx, "import: prepare", err)
	}
	defer stmt.Close()
	// Statements run without ctx: the driver starts a watcher goroutine per
	// statement that has one. ctx is checked every 1024 rows instead.
	bg := context.WithoutCancel(ctx)
	now := s.opts.Clock.Now().UTC().UnixMicro()
	var written int64
	for i, e := range events {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, fmt.Errorf("sqlite: import: %w", err)
			}
		}
		at := now
		if !e.RecordedAt.IsZero() {
			at = e.RecordedAt.UnixMicro()
		}
		r, err := stmt.ExecContext(bg, e.ID, e.Stream, e.StreamVersion, e.Type, dataText(e.Data), e.Raw, string(metas[i]), at)
		if err != nil {
			return 0, fail(ctx, fmt.Sprintf("import event %s (%s v%d)", e.ID, e.Stream, e.StreamVersion), err)
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
