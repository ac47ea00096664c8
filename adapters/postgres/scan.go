package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidemark/tidemark/domain"
)

// defaultScanChunk is the rows one log-order query asks for: with a LIMIT
// (and no sort allowed) the server walks events_log_idx in order and
// streams rows as it goes.
const defaultScanChunk = 20_000

// scanColumns are the lean columns a scan reads: no raw body, of the
// metadata only what the folds use.
const scanColumns = `id::text, stream, stream_version, type, data,
	metadata->>'source', metadata->>'receivedAt', recorded_at, tx_id, seq`

// ScanAll implements domain.LogScanner. In log order it reads chunks of
// Store.scanChunk rows along events_log_idx; by stream it runs one query, which
// PostgreSQL answers with a scan and sort: walking the (stream,
// stream_version) index instead jumps all over the heap and measured about
// three times slower. The sort compares streams bytewise (COLLATE "C"; any
// grouping of streams will do, and a locale's strcoll cost a third more)
// and runs without parallel workers: on a small machine the rebuild's own
// folding needs the cores, and the workers only add their hand-over.
func (s *Store) ScanAll(ctx context.Context, sc domain.Scan, fn func([]domain.Event) error) error {
	if sc.Batch <= 0 {
		sc.Batch = 5000
	}
	d := &scanDecoder{batch: sc.Batch, fn: fn, types: map[string]string{}, events: make([]domain.Event, 0, sc.Batch)}
	var err error
	if sc.ByStream {
		if sc.After != domain.Start {
			return fmt.Errorf("postgres: scan by stream after %s: %w", sc.After, errors.ErrUnsupported)
		}
		err = s.scanByStream(ctx, d, sc)
	} else {
		err = s.scanLogOrder(ctx, d, sc)
	}
	if err == nil {
		err = d.flush()
	}
	if err != nil {
		return fmt.Errorf("postgres: scan: %w", interpretError(err))
	}
	return nil
}

// scanLogOrder reads the range in chunks of s.scanChunk matching rows along
// events_log_idx, in a read-only transaction whose planner may not sort.
// The type filter is in WHERE, so rows of other types never leave the
// server (a third of a million-event log, about 0.5 s of its CPU). Left
// free, the planner cannot estimate a parameter's prefix and, guessing it
// rare, sorted the whole rest of the log for every chunk (measured: 12 s
// instead of 3 s for a million events); with enable_sort off the only plan
// left is the index walk, whatever the type's share of the log.
func (s *Store) scanLogOrder(ctx context.Context, d *scanDecoder, sc domain.Scan) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read only: nothing to keep
	if _, err := tx.Exec(ctx, `SET LOCAL enable_sort = off`); err != nil {
		return err
	}
	for after := sc.After; after.Less(sc.Through); after = d.last {
		d.last = after
		if err := d.query(ctx, tx, `SELECT `+scanColumns+` FROM events
			WHERE (tx_id, seq) > ($1::xid8, $2) AND (tx_id, seq) <= ($3::xid8, $4) AND starts_with(type, $5)
			ORDER BY tx_id, seq LIMIT $6`,
			after.TxID, after.Seq, sc.Through.TxID, sc.Through.Seq, sc.TypePrefix, s.scanChunk); err != nil {
			return err
		}
		if d.rows < s.scanChunk { // the rest of the range holds no more matching events
			return nil
		}
	}
	return nil
}

// byStreamWorkMem is the by-stream scan's work_mem: the memory its sort
// may take on the server before spilling to disk.
const byStreamWorkMem = "256MB"

// scanByStream runs the by-stream query in a read-only transaction that
// sets its planner options.
func (s *Store) scanByStream(ctx context.Context, d *scanDecoder, sc domain.Scan) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read only: nothing to keep
	if _, err := tx.Exec(ctx, `SET LOCAL max_parallel_workers_per_gather = 0`); err != nil {
		return err
	}
	// The sort holds whole rows (bodies included): with the default 4 MB it
	// spilled 200 MB to temporary files for a million-event log, and sorting
	// in memory made the whole rebuild about a tenth faster. A longer log
	// spills beyond this, as before.
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '`+byStreamWorkMem+`'`); err != nil {
		return err
	}
	return d.query(ctx, tx, `SELECT `+scanColumns+` FROM events
		WHERE starts_with(stream, $1) AND (tx_id, seq) <= ($2::xid8, $3) AND starts_with(type, $4)
		ORDER BY stream COLLATE "C", stream_version`, sc.StreamPrefix, sc.Through.TxID, sc.Through.Seq, sc.TypePrefix)
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// scanDecoder turns scanned rows into batches of lean events.
type scanDecoder struct {
	batch  int
	fn     func([]domain.Event) error
	types  map[string]string // the few event types, one string each
	events []domain.Event
	arena  []byte          // the batch's Data: one allocation, not one per event
	last   domain.Position // of the last row read
	rows   int             // rows read by the last query
}

func (d *scanDecoder) query(ctx context.Context, q querier, sql string, args ...any) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	d.rows = 0
	for rows.Next() {
		d.rows++
		if err := d.row(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (d *scanDecoder) row(rows pgx.Rows) error {
	var (
		e        domain.Event
		recorded time.Time
	)
	if err := rows.Scan(nil, nil, &e.StreamVersion, nil, nil, nil, nil, &recorded,
		&e.Position.TxID, &e.Position.Seq); err != nil {
		return err
	}
	d.last = e.Position
	raw := rows.RawValues() // the text columns' bytes are their text
	e.ID, e.Stream = string(raw[0]), string(raw[1])
	t, ok := d.types[string(raw[3])]
	if !ok {
		t = string(raw[3])
		d.types[t] = t
	}
	e.Type = t
	if raw[4] != nil {
		if cap(d.arena)-len(d.arena) < len(raw[4]) {
			d.arena = make([]byte, 0, max(64<<10, len(raw[4])))
		}
		start := len(d.arena)
		d.arena = append(d.arena, raw[4]...)
		e.Data = d.arena[start:len(d.arena):len(d.arena)]
	}
	m, err := domain.LeanMetadata(raw[5], raw[6])
	if err != nil {
		return fmt.Errorf("event %s: %w", e.ID, err)
	}
	e.Metadata = m
	e.RecordedAt = recorded.UTC()
	d.events = append(d.events, e)
	if len(d.events) >= d.batch {
		return d.flush()
	}
	return nil
}

func (d *scanDecoder) flush() error {
	if len(d.events) == 0 {
		return nil
	}
	events := d.events
	d.events, d.arena = make([]domain.Event, 0, d.batch), nil
	return d.fn(events)
}

var _ domain.LogScanner = (*Store)(nil)
