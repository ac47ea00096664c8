package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/tidemark/tidemark/domain"
)

// importColumns are the events columns an import writes, in row order.
var importColumns = []string{"id", "stream", "stream_version", "type", "data", "raw", "metadata", "recorded_at"}

// Import bulk-loads events in one transaction. Events keep their stream,
// version and RecordedAt (the clock's time when zero); they get new log
// positions, in the order given. Ids already stored are skipped; it returns
// how many were written. An event whose (stream, version) is taken by
// another id fails the whole import with domain.ErrWrongExpectedVersion.
//
// It first COPYs straight into events, in a savepoint: the usual case (a
// fresh store, or a new slice of an export) then costs about a raw COPY.
// If that hits an id already stored, it rolls back to the savepoint, COPYs
// into a temporary staging table and moves the rows over with INSERT ...
// SELECT ... ON CONFLICT (id) DO NOTHING.
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
	n, err := s.importDirect(ctx, tx, events, ids)
	if code, constraint := pgCode(err); code == "23505" && constraint == constraintEventID {
		n, err = s.importStaged(ctx, tx, events, ids)
	}
	if err != nil {
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

// importDirect COPYs into events and moves the stream versions, undoing
// both (to the savepoint) on error.
func (s *Store) importDirect(ctx context.Context, tx pgx.Tx, events []domain.ImportEvent, ids []string) (int64, error) {
	if _, err := tx.Exec(ctx, "SAVEPOINT import"); err != nil {
		return 0, err
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, importColumns, s.importRows(events, ids, false))
	if err == nil {
		streams, versions := lastVersions(events)
		_, err = tx.Exec(ctx, `INSERT INTO streams AS s (stream, version)
			SELECT * FROM unnest($1::text[], $2::bigint[]) ORDER BY 1
			ON CONFLICT (stream) DO UPDATE SET version = GREATEST(s.version, EXCLUDED.version)`, streams, versions)
	}
	if err != nil {
		if _, rbErr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT import"); rbErr != nil {
			return 0, rbErr
		}
		return 0, err
	}
	_, err = tx.Exec(ctx, "RELEASE SAVEPOINT import")
	return n, err
}

// importStaged COPYs into a staging table and inserts what is not stored yet.
func (s *Store) importStaged(ctx context.Context, tx pgx.Tx, events []domain.ImportEvent, ids []string) (int64, error) {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE tidemark_import (
		ord bigint, id uuid, stream text, stream_version bigint, type text,
		data json, raw bytea, metadata jsonb, recorded_at timestamptz) ON COMMIT DROP`); err != nil {
		return 0, err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"tidemark_import"}, append([]string{"ord"}, importColumns...),
		s.importRows(events, ids, true)); err != nil {
		return 0, err
	}
	var n int64
	err := tx.QueryRow(ctx, `WITH ins AS (
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
		SELECT count(*) FROM ins`).Scan(&n)
	return n, err
}

// importRows feeds CopyFrom, with the input index first when ord is set.
func (s *Store) importRows(events []domain.ImportEvent, ids []string, ord bool) pgx.CopyFromSource {
	now := s.opts.Clock.Now().UTC()
	return pgx.CopyFromSlice(len(events), func(i int) ([]any, error) {
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
		row := []any{ids[i], e.Stream, e.StreamVersion, e.Type, []byte(e.Data), e.Raw, meta, at}
		if ord {
			row = append([]any{int64(i)}, row...)
		}
		return row, nil
	})
}

// lastVersions is each stream's greatest version among events, sorted by stream.
func lastVersions(events []domain.ImportEvent) ([]string, []int64) {
	last := map[string]int64{}
	for _, e := range events {
		last[e.Stream] = max(last[e.Stream], e.StreamVersion)
	}
	streams := make([]string, 0, len(last))
	for st := range last {
		streams = append(streams, st)
	}
	sort.Strings(streams)
	versions := make([]int64, len(streams))
	for i, st := range streams {
		versions[i] = last[st]
	}
	return streams, versions
}
