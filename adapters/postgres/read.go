package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidemark/tidemark/domain"
)

// eventColumns is what scanEvent reads, in order.
const eventColumns = `id::text, stream, stream_version, type, data, raw, metadata, recorded_at, tx_id, seq`

// The read gate. A reader may take an event only when no transaction that
// could still write an earlier-positioned event is running. The simple
// bound is pg_snapshot_xmin(pg_current_snapshot()), the oldest running
// transaction; but that is cluster-wide, so a transaction in ANOTHER
// database (another application, another test package) would hold our
// readers back although it cannot write our events. gateSQL therefore
// drops from the snapshot's running transactions those that
// pg_stat_activity shows in another database, and keeps all others
// (unattributable ones too, so it errs on the side of waiting).
//
// Order matters: the snapshot that lists running transactions is taken
// before pg_stat_activity is read (both in gateSQL), and the events are
// read by the next statement, with a later snapshot. A transaction given
// an id after the first snapshot gets one >= its xmax, which bounds the
// gate; one that ended in between is visible to the read.
//
// gateSQL leaves the gate in a transaction-local setting for the next
// statement of the same pipeline (one implicit transaction, one round
// trip); reading it fails loudly if it is missing.
const gateSQL = `SELECT set_config('tidemark.log_gate', coalesce((
		SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
		WHERE NOT EXISTS (
			SELECT 1 FROM pg_stat_activity AS a
			WHERE a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database())
			  AND a.backend_xid = (x::text::numeric % 4294967296)::text::xid)
	), pg_snapshot_xmax(pg_current_snapshot()))::text, true)`

// visible keeps the rows below the gate gateSQL set.
const visible = `tx_id < current_setting('tidemark.log_gate')::xid8`

// gated runs query (which uses visible) after gateSQL in one round trip.
func (s *Store) gated(ctx context.Context, query string, args ...any) (pgx.Rows, func() error) {
	b := &pgx.Batch{}
	b.Queue(gateSQL)
	b.Queue(query, args...)
	br := s.pool.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close() // it repeats err
		return nil, func() error { return err }
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close() // it repeats err
		return nil, func() error { return err }
	}
	return rows, br.Close
}

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
	events, err := scanEvents(rows, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: read stream %s: %w", stream, interpretError(err))
	}
	return events, nil
}

// ReadAll returns up to limit events after the given position in commit
// order (limit <= 0: no limit). It only returns events below the read
// gate (see gateSQL), so an event that commits late is never passed over.
func (s *Store) ReadAll(ctx context.Context, after domain.Position, limit int) ([]domain.Event, error) {
	rows, done := s.gated(ctx, `SELECT `+eventColumns+` FROM events
		WHERE (tx_id, seq) > ($1::xid8, $2) AND `+visible+`
		ORDER BY tx_id, seq LIMIT $3`,
		after.TxID, after.Seq, limitArg(limit))
	var events []domain.Event
	var err error
	if rows != nil {
		events, err = scanEvents(rows, limit)
	}
	if closeErr := done(); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: read all after %s: %w", after, interpretError(err))
	}
	return events, nil
}

// Head is the position of the last event ReadAll can return now.
func (s *Store) Head(ctx context.Context) (domain.Position, error) {
	var p domain.Position
	rows, done := s.gated(ctx, `SELECT tx_id, seq FROM events WHERE `+visible+`
		ORDER BY tx_id DESC, seq DESC LIMIT 1`)
	var err error
	if rows != nil {
		_, err = pgx.ForEachRow(rows, []any{&p.TxID, &p.Seq}, func() error { return nil })
	}
	if closeErr := done(); err == nil {
		err = closeErr
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

// scanEvents reads rows of eventColumns; sizeHint (the query's limit, if
// any) sizes the result up front.
func scanEvents(rows pgx.Rows, sizeHint int) ([]domain.Event, error) {
	defer rows.Close()
	events := make([]domain.Event, 0, min(max(sizeHint, 0), 10_000))
	var meta, data []byte
	for rows.Next() {
		var e domain.Event
		var recorded time.Time
		// data into a plain []byte: pgx would run json.Unmarshal (a full
		// validation) for a json.RawMessage; the stored JSON is canonical.
		if err := rows.Scan(&e.ID, &e.Stream, &e.StreamVersion, &e.Type, &data, &e.Raw, &meta,
			&recorded, &e.Position.TxID, &e.Position.Seq); err != nil {
			return nil, err
		}
		e.Data = data
		data = nil // scanned bytes are the row's own copy; the next row gets a new one
		if err := e.Metadata.UnmarshalJSON(meta); err != nil {
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
