package postgres

import (
	"context"
	"fmt"
	"sync"
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

// gateReuse is how long a gate is used again without asking, as long as
// no commit was announced meanwhile (a local append or a NOTIFY wakes the
// notifier, which makes the gate stale). A gate stays valid: the
// transactions below it have ended, and new ones get higher ids; reusing
// it only hides commits not yet announced, which a reader waiting in
// WaitForEvents is woken for anyway. It spares the gate query (which reads
// pg_stat_activity) to the reads that follow one another: the live
// projections each read the same log moments apart.
const gateReuse = 5 * time.Millisecond

// gateCache is the last gate read: when it was asked for (monotonic
// clock: an age) and the notifier's wake-ups then.
type gateCache struct {
	mu    sync.Mutex
	xid   string // xid8 as text
	at    time.Time
	wakes uint64
}

func (g *gateCache) get(wakes uint64) (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.xid, g.xid != "" && g.wakes == wakes && time.Since(g.at) < gateReuse
}

func (g *gateCache) put(xid string, at time.Time, wakes uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.xid == "" || at.After(g.at) {
		g.xid, g.at, g.wakes = xid, at, wakes
	}
}

// gated runs a read below the gate: query with visible after gateSQL in
// one round trip, or, with a gate read less than gateReuse ago, belowQuery
// with that gate as its last parameter (tx_id < $n::xid8).
func (s *Store) gated(ctx context.Context, query, belowQuery string, args ...any) (pgx.Rows, func() error) {
	wakes := s.notifier.wakes.Load()
	if xid, ok := s.gate.get(wakes); ok {
		rows, err := s.pool.Query(ctx, belowQuery, append(args, xid)...)
		if err != nil {
			return nil, func() error { return err }
		}
		return rows, func() error { rows.Close(); return rows.Err() }
	}
	asked := time.Now()
	b := &pgx.Batch{}
	b.Queue(gateSQL)
	b.Queue(query, args...)
	br := s.pool.SendBatch(ctx, b)
	var xid string
	if err := br.QueryRow().Scan(&xid); err != nil {
		br.Close()
		return nil, func() error { return err }
	}
	s.gate.put(xid, asked, wakes)
	rows, err := br.Query()
	if err != nil {
		br.Close()
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
	const q = `SELECT ` + eventColumns + ` FROM events WHERE (tx_id, seq) > ($1::xid8, $2) AND %s
		ORDER BY tx_id, seq LIMIT $3`
	rows, done := s.gated(ctx, fmt.Sprintf(q, visible), fmt.Sprintf(q, "tx_id < $4::xid8"),
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
	const q = `SELECT tx_id, seq FROM events WHERE %s ORDER BY tx_id DESC, seq DESC LIMIT 1`
	rows, done := s.gated(ctx, fmt.Sprintf(q, visible), fmt.Sprintf(q, "tx_id < $1::xid8"))
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
