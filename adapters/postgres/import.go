package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tidemark/tidemark/domain"
)

// Import bulk-loads events: COPY into a temporary staging table, then one
// INSERT ... SELECT that skips ids already stored and moves the stream
// versions forward, all in one transaction. Events keep their stream,
// version and RecordedAt (the clock's time when zero); they get new log
// positions, in the order given. It returns how many were written. An
// event whose (stream, version) is taken by another id fails the whole
// import with domain.ErrWrongExpectedVersion.
func (s *Store) Import(ctx context.Context, events []domain.ImportEvent) (int64, error) {
	if len(events) == 0 {
		return 0, nil
	}
	ids := make([]string, len(events))
	for i, e := range events {
		id, ok := canonicalUUID(e.ID)
		switch {
		case !ok:
			return 0, fmt.Errorf("postgres: import: event %d: id %q is not a UUID: %w", i, e.ID, domain.ErrInvalidEvent)
		case e.Stream == "" || e.Type == "":
			return 0, fmt.Errorf("postgres: import: event %s: stream and type are required: %w", id, domain.ErrInvalidEvent)
		case e.StreamVersion < 1:
			return 0, fmt.Errorf("postgres: import: event %s: stream version %d: %w", id, e.StreamVersion, domain.ErrInvalidEvent)
		}
		ids[i] = id
	}
	n, err := s.importTx(ctx, events, ids)
	if err != nil {
		return 0, fmt.Errorf("postgres: import: %w", interpretError(err))
	}
	if n > 0 {
		s.notifier.broadcast()
	}
	return n, nil
}

func (s *Store) importTx(ctx context.Context, events []domain.ImportEvent, ids []string) (int64, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE tidemark_import (
		ord bigint, id uuid, stream text, stream_version bigint, type text,
		data json, raw bytea, metadata jsonb, recorded_at timestamptz) ON COMMIT DROP`); err != nil {
		return 0, err
	}
	now := s.opts.Clock.Now().UTC()
	src := pgx.CopyFromSlice(len(events), func(i int) ([]any, error) {
		e := events[i]
		meta, err := json.Marshal(e.Metadata)
		if err != nil {
			return nil, fmt.Errorf("metadata of %s: %w", ids[i], err)
		}
		at := e.RecordedAt
		if at.IsZero() {
			at = now
		}
		// []byte, not json.RawMessage: a nil body must stay NULL.
		return []any{int64(i), ids[i], e.Stream, e.StreamVersion, e.Type, []byte(e.Data), e.Raw, meta, at}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"tidemark_import"},
		[]string{"ord", "id", "stream", "stream_version", "type", "data", "raw", "metadata", "recorded_at"}, src); err != nil {
		return 0, err
	}
	// Stream rows are locked in sorted order, as appends do.
	var n int64
	if err := tx.QueryRow(ctx, `WITH ins AS (
			INSERT INTO events (id, stream, stream_version, type, data, raw, metadata, recorded_at)
			SELECT id, stream, stream_version, type, data, raw, metadata, recorded_at
			FROM tidemark_import ORDER BY ord
			ON CONFLICT (id) DO NOTHING
			RETURNING stream, stream_version
		), st AS (
			INSERT INTO streams AS s (stream, version)
			SELECT stream, max(stream_version) FROM ins GROUP BY stream ORDER BY stream
			ON CONFLICT (stream) DO UPDATE SET version = GREATEST(s.version, EXCLUDED.version)
		)
		SELECT count(*) FROM ins`).Scan(&n); err != nil {
		return 0, err
	}
	if n > 0 {
		if _, err := tx.Exec(ctx, `SELECT pg_notify('`+notifyChannel+`', pg_current_xact_id()::text)`); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	return n, nil
}
