package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidemark/tidemark/domain"
)

// eventColumns is what scanEvent reads, in order.
const eventColumns = `id::text, stream, stream_version, type, data, raw, metadata, recorded_at, tx_id, seq`

// visible is the read gate: only transactions older than every running one.
// Rows of those are committed (or rolled back and gone), so nothing can
// appear before them any more.
const visible = `tx_id < pg_snapshot_xmin(pg_current_snapshot())`

// ReadStream returns up to limit events of a stream with version >
// afterVersion, oldest first. limit <= 0 means no limit. An unknown stream
// gives no events and no error.
func (s *Store) ReadStream(ctx context.Context, stream string, afterVersion int64, limit int) ([]domain.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE stream = $1 AND stream_version > $2 ORDER BY stream_version LIMIT $3`,
		stream, afterVersion, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: read stream %s: %w", stream, interpretError(err))
	}
	events, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: read stream %s: %w", stream, interpretError(err))
	}
	return events, nil
}

// ReadAll returns up to limit events after the given position in commit
// order (limit <= 0: no limit). It only returns events of transactions
// older than every transaction still running, so an event that commits
// late is never passed over.
func (s *Store) ReadAll(ctx context.Context, after domain.Position, limit int) ([]domain.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE (tx_id, seq) > ($1::xid8, $2) AND `+visible+`
		ORDER BY tx_id, seq LIMIT $3`,
		after.TxID, after.Seq, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: read all after %s: %w", after, interpretError(err))
	}
	events, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: read all after %s: %w", after, interpretError(err))
	}
	return events, nil
}

// Head is the position of the last event ReadAll can return now.
func (s *Store) Head(ctx context.Context) (domain.Position, error) {
	var p domain.Position
	err := s.pool.QueryRow(ctx, `SELECT tx_id, seq FROM events WHERE `+visible+`
		ORDER BY tx_id DESC, seq DESC LIMIT 1`).Scan(&p.TxID, &p.Seq)
	if err == pgx.ErrNoRows {
		return domain.Start, nil
	}
	if err != nil {
		return domain.Start, fmt.Errorf("postgres: head: %w", interpretError(err))
	}
	return p, nil
}

// limitArg maps "no limit" to NULL, which LIMIT reads as LIMIT ALL.
func limitArg(limit int) *int64 {
	if limit <= 0 {
		return nil
	}
	n := int64(limit)
	return &n
}

func scanEvents(rows pgx.Rows) ([]domain.Event, error) {
	defer rows.Close()
	var events []domain.Event
	var meta []byte
	for rows.Next() {
		var e domain.Event
		var recorded time.Time
		if err := rows.Scan(&e.ID, &e.Stream, &e.StreamVersion, &e.Type, &e.Data, &e.Raw, &meta,
			&recorded, &e.Position.TxID, &e.Position.Seq); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(meta, &e.Metadata); err != nil {
			return nil, fmt.Errorf("event %s: metadata: %w", e.ID, err)
		}
		e.RecordedAt = recorded.UTC()
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return events, nil
}
