package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tidemark/tidemark/domain"
)

const eventColumns = `seq, id, stream, stream_version, type, data, raw, metadata, recorded_at`

// ReadStream returns up to limit events of stream with version > afterVersion,
// oldest first. A limit <= 0 means no limit.
func (s *Store) ReadStream(ctx context.Context, stream string, afterVersion int64, limit int) ([]domain.Event, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT `+eventColumns+` FROM events
		WHERE stream = ? AND stream_version > ? ORDER BY stream_version LIMIT ?`,
		stream, afterVersion, sqlLimit(limit))
	if err != nil {
		return nil, fail(ctx, "read stream", err)
	}
	return scanEvents(ctx, rows, "read stream")
}

// ReadAll returns up to limit events after the position, in commit (seq)
// order. A limit <= 0 means no limit. Writers are serialised, so a committed
// seq is never followed by a smaller one committing later.
func (s *Store) ReadAll(ctx context.Context, after domain.Position, limit int) ([]domain.Event, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if after.TxID > 0 { // every SQLite position has TxID 0, so all come before it
		return nil, nil
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT `+eventColumns+` FROM events
		WHERE seq > ? ORDER BY seq LIMIT ?`, after.Seq, sqlLimit(limit))
	if err != nil {
		return nil, fail(ctx, "read all", err)
	}
	return scanEvents(ctx, rows, "read all")
}

// Head is the position of the last committed event (Start if none).
func (s *Store) Head(ctx context.Context) (domain.Position, error) {
	if err := s.checkOpen(); err != nil {
		return domain.Start, err
	}
	var seq int64
	if err := s.reader.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&seq); err != nil {
		return domain.Start, fail(ctx, "head", err)
	}
	return domain.Position{Seq: seq}, nil
}

func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1 // SQLite: no limit
	}
	return limit
}

func scanEvents(ctx context.Context, rows *sql.Rows, op string) ([]domain.Event, error) {
	defer rows.Close()
	var out []domain.Event
	for rows.Next() {
		var (
			e          domain.Event
			data, meta []byte
			recorded   int64
		)
		if err := rows.Scan(&e.Position.Seq, &e.ID, &e.Stream, &e.StreamVersion, &e.Type,
			&data, &e.Raw, &meta, &recorded); err != nil {
			return nil, fail(ctx, op, err)
		}
		e.Data = json.RawMessage(data)
		if len(meta) > 0 {
			if err := e.Metadata.UnmarshalJSON(meta); err != nil {
				return nil, fmt.Errorf("sqlite: %s: metadata of %s: %w", op, e.ID, err)
			}
		}
		e.RecordedAt = time.UnixMicro(recorded).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, op, err)
	}
	return out, nil
}
