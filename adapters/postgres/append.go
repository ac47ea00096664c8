package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidemark/tidemark/domain"
)

// maxRequestRetries bounds how often the slow path retries one request
// after another writer committed the same event id or version first (or a
// deadlock).
const maxRequestRetries = 5

// lockStreamsSQL takes a transaction-level advisory lock per stream, in
// key order so concurrent batches cannot deadlock. Advisory locks, unlike
// row locks, do not give the transaction an id: it gets one at its first
// insert, after every lock is held. So of two transactions writing one
// stream, the later one has the greater id, and the log order
// (tx_id, seq) agrees with each stream's version order. The two-int key
// space (7245002, hashtext) is apart from the bigint locks of migrations
// and leaders; a hash collision only makes two streams take turns.
const lockStreamsSQL = `SELECT count(pg_advisory_xact_lock(7245002, k))
	FROM (SELECT DISTINCT hashtext(s) AS k FROM unnest($1::text[]) AS s ORDER BY k) AS keys`

// Append writes one request atomically in its own transaction.
func (s *Store) Append(ctx context.Context, req domain.AppendRequest) (domain.AppendResult, error) {
	results, errs, err := s.AppendBatch(ctx, []domain.AppendRequest{req})
	if err != nil {
		return domain.AppendResult{}, err
	}
	return results[0], errs[0]
}

// AppendBatch writes many requests in one transaction; each succeeds or
// fails on its own (see domain.EventStore).
//
// The fast path plans the whole batch at once: lock every stream, look up
// the versions and the event ids, check versions in Go, then insert all
// new events with one statement: two round trips in all, BEGIN and COMMIT
// included.
// Should the database refuse that (an id committed meanwhile by a writer
// of another stream, a body PostgreSQL rejects, a deadlock), the batch is
// redone with a SAVEPOINT per request, so only the guilty request fails.
func (s *Store) AppendBatch(ctx context.Context, reqs []domain.AppendRequest) ([]domain.AppendResult, []error, error) {
	results := make([]domain.AppendResult, len(reqs))
	errs := make([]error, len(reqs))
	ids := make([][]string, len(reqs))
	var todo []int
	for i, r := range reqs {
		var err error
		if ids[i], err = validateRequest(r); err != nil {
			errs[i] = err
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return results, errs, nil
	}
	wrote, err := s.appendFast(ctx, reqs, ids, todo, results, errs)
	if err != nil && ctx.Err() == nil && worthSlowPath(err) {
		wrote, err = s.appendSlow(ctx, reqs, ids, todo, results, errs)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: append: %w", interpretError(err))
	}
	if wrote {
		s.notifier.broadcast() // local waiters need not wait for NOTIFY's round trip
	}
	return results, errs, nil
}

// worthSlowPath: the server refused a statement for a reason that may be
// one request's fault. Lost connections and full disks are not.
func worthSlowPath(err error) bool {
	code, _ := pgCode(err)
	if code == "" {
		return false
	}
	return isRetryable(err) || !errors.Is(interpretError(err), domain.ErrUnavailable)
}

func (s *Store) begin(ctx context.Context) (pgx.Tx, error) {
	// READ COMMITTED: see lookup.
	return s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
}

// appendFast runs the batch as one transaction in two round trips: BEGIN,
// locks and lookups in the first pipeline; inserts, NOTIFY and COMMIT in
// the second.
func (s *Store) appendFast(ctx context.Context, reqs []domain.AppendRequest, ids [][]string, todo []int,
	results []domain.AppendResult, errs []error) (bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	// A connection released inside a transaction is closed by the pool, so
	// a failed ROLLBACK cannot leak the transaction to the next user.
	defer conn.Release()
	out, wrote, err := s.write(ctx, conn, reqs, ids, todo, writeMode{lock: true, txControl: true})
	if err == nil && !wrote {
		_, err = conn.Exec(ctx, "COMMIT") // nothing written: only releases the locks
	}
	if err != nil {
		rbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(rbCtx, "ROLLBACK") // a WARNING if COMMIT already ended it
		return false, err
	}
	for k, i := range todo {
		results[i], errs[i] = out[k].res, out[k].err
	}
	return wrote, nil
}

func (s *Store) appendSlow(ctx context.Context, reqs []domain.AppendRequest, ids [][]string, todo []int,
	results []domain.AppendResult, errs []error) (bool, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit
	// Every lock before the first write, as in the fast path.
	if _, err := tx.Exec(ctx, lockStreamsSQL, streamsOf(reqs, todo)); err != nil {
		return false, err
	}
	outs := make([]outcome, len(todo))
	wroteAny := false
	for k, i := range todo {
		for attempt := 0; ; attempt++ {
			if _, err := tx.Exec(ctx, "SAVEPOINT request"); err != nil {
				return false, err
			}
			out, wrote, err := s.write(ctx, tx, reqs, ids, []int{i}, writeMode{})
			if err == nil {
				outs[k] = out[0]
				wroteAny = wroteAny || wrote
				if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT request"); err != nil {
					return false, err
				}
				break
			}
			if _, rbErr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT request"); rbErr != nil {
				return false, rbErr
			}
			if !worthSlowPath(err) {
				return false, err // the transaction itself is in trouble
			}
			if !isRetryable(err) || attempt == maxRequestRetries {
				outs[k] = outcome{err: fmt.Errorf("postgres: append to %s: %w", reqs[i].Stream, interpretError(err))}
				break
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return false, err
	}
	for k, i := range todo {
		results[i], errs[i] = outs[k].res, outs[k].err
	}
	return wroteAny, nil
}

// streamsOf lists the distinct streams of the requests idx, sorted.
func streamsOf(reqs []domain.AppendRequest, idx []int) []string {
	set := map[string]bool{}
	for _, i := range idx {
		set[reqs[i].Stream] = true
	}
	out := make([]string, 0, len(set))
	for st := range set {
		out = append(out, st)
	}
	sort.Strings(out)
	return out
}

// outcome is one request's result inside a transaction not yet committed.
type outcome struct {
	res domain.AppendResult
	err error
}

// slot is where an event of the batch lives: stored before (row -1), or
// written now as row `row` of the insert, its position known after it.
type slot struct {
	version int64
	pos     domain.Position
	row     int
}

const slotPlanned = -2 // a new event not yet given a row

// newRows are the columns of the events one insert writes.
type newRows struct {
	ids, streams, types []string
	versions            []int64
	data, raw, meta     [][]byte
}

// batcher is a transaction or a connection.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// writeMode says what write adds to its two pipelines.
type writeMode struct {
	lock      bool // take the stream locks first
	txControl bool // open the transaction (BEGIN) and, if anything is written, COMMIT it
}

// write plans and writes the requests idx on q. Version conflicts become
// outcomes; an error means the transaction (or savepoint) must be rolled
// back. It reports whether any event was written (and, with txControl,
// committed).
func (s *Store) write(ctx context.Context, q batcher, reqs []domain.AppendRequest, ids [][]string, idx []int, mode writeMode) ([]outcome, bool, error) {
	streams := streamsOf(reqs, idx)
	versions, found, err := lookup(ctx, q, streams, idsOf(ids, idx), mode)
	if err != nil {
		return nil, false, err
	}

	// Decide in Go, request by request, as if they ran one after another.
	outs := make([]outcome, len(idx))
	slots := make([][]*slot, len(idx))
	var rows newRows
	for k, i := range idx {
		r := reqs[i]
		cur := versions[r.Stream]
		mine := make([]*slot, len(r.Events))
		local := map[string]*slot{} // an id twice in one request is written once
		fresh := 0
		for j, id := range ids[i] {
			if sl, ok := found[id]; ok {
				mine[j] = sl
			} else if sl, ok := local[id]; ok {
				mine[j] = sl
			} else {
				fresh++
				local[id] = &slot{row: slotPlanned}
				mine[j] = local[id]
			}
		}
		// Only a request with something new is checked (see domain.AppendResult).
		if fresh > 0 && r.Expected != domain.AnyVersion && int64(r.Expected) != cur {
			outs[k].err = fmt.Errorf("postgres: append to %s: expected version %d, stream is at %d: %w",
				r.Stream, r.Expected, cur, domain.ErrWrongExpectedVersion)
			continue
		}
		dup := make([]bool, len(r.Events))
		for j, id := range ids[i] {
			sl := mine[j]
			if sl.row != slotPlanned {
				dup[j] = true
				continue
			}
			meta, err := json.Marshal(r.Events[j].Metadata)
			if err != nil {
				return nil, false, fmt.Errorf("metadata of %s: %w", id, err)
			}
			cur++
			sl.version, sl.row = cur, len(rows.ids)
			rows.ids = append(rows.ids, id)
			rows.streams = append(rows.streams, r.Stream)
			rows.versions = append(rows.versions, cur)
			rows.types = append(rows.types, r.Events[j].Type)
			rows.data = append(rows.data, []byte(r.Events[j].Data)) // []byte: nil stays NULL
			rows.raw = append(rows.raw, r.Events[j].Raw)
			rows.meta = append(rows.meta, meta)
			found[id] = sl // later requests of the batch see it as stored
		}
		versions[r.Stream] = cur
		slots[k] = mine
		outs[k].res = domain.AppendResult{Duplicates: dup, StreamVersion: cur}
	}

	if len(rows.ids) > 0 {
		if err := s.insert(ctx, q, rows, versions, slotsByRow(slots, len(rows.ids)), mode.txControl); err != nil {
			return nil, false, err
		}
	}
	for k := range idx {
		if outs[k].err != nil {
			continue
		}
		res := &outs[k].res
		res.Positions = make([]domain.Position, len(slots[k]))
		res.Versions = make([]int64, len(slots[k]))
		for j, sl := range slots[k] {
			res.Positions[j], res.Versions[j] = sl.pos, sl.version
		}
	}
	return outs, len(rows.ids) > 0, nil
}

func idsOf(ids [][]string, idx []int) []string {
	var out []string
	for _, i := range idx {
		out = append(out, ids[i]...)
	}
	return out
}

// lookup (optionally locking the streams first) reads the streams'
// versions and which ids are stored, in one round trip. The reads run
// after the locks are granted, so they see everything the previous
// holders committed.
func lookup(ctx context.Context, q batcher, streams, ids []string, mode writeMode) (map[string]int64, map[string]*slot, error) {
	b := &pgx.Batch{}
	if mode.txControl {
		// READ COMMITTED matters: each statement after the locks must see
		// what the previous holders committed.
		b.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	}
	if mode.lock {
		b.Queue(lockStreamsSQL, streams)
	}
	b.Queue(`SELECT stream, version FROM streams WHERE stream = ANY($1::text[])`, streams)
	b.Queue(`SELECT id::text, stream_version, tx_id, seq FROM events WHERE id = ANY($1::uuid[])`, ids)
	br := q.SendBatch(ctx, b)
	versions := make(map[string]int64, len(streams))
	found := make(map[string]*slot, len(ids))
	err := func() error {
		for range b.Len() - 2 { // BEGIN, locks
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		var st string
		var v int64
		if _, err := pgx.ForEachRow(rows, []any{&st, &v}, func() error { versions[st] = v; return nil }); err != nil {
			return err
		}
		if rows, err = br.Query(); err != nil {
			return err
		}
		var id string
		var sl slot
		_, err = pgx.ForEachRow(rows, []any{&id, &sl.version, &sl.pos.TxID, &sl.pos.Seq}, func() error {
			found[id] = &slot{version: sl.version, pos: sl.pos, row: -1}
			return nil
		})
		return err
	}()
	if closeErr := br.Close(); err == nil {
		err = closeErr
	}
	return versions, found, err
}

// slotsByRow indexes the slots of new events by insert row.
func slotsByRow(slots [][]*slot, n int) []*slot {
	byRow := make([]*slot, n)
	for _, req := range slots {
		for _, sl := range req {
			if sl.row >= 0 {
				byRow[sl.row] = sl
			}
		}
	}
	return byRow
}

// insert writes the new events, moves the stream versions, notifies
// listeners (delivered at commit) and, with commit, commits, in one round
// trip.
func (s *Store) insert(ctx context.Context, q batcher, rows newRows, versions map[string]int64, byRow []*slot, commit bool) error {
	seen := map[string]bool{}
	var upStreams []string
	for _, st := range rows.streams {
		if !seen[st] {
			seen[st] = true
			upStreams = append(upStreams, st)
		}
	}
	sort.Strings(upStreams)
	upVersions := make([]int64, len(upStreams))
	for i, st := range upStreams {
		upVersions[i] = versions[st]
	}
	b := &pgx.Batch{}
	// Rows go in in ordinality order, so seq follows request order.
	b.Queue(`INSERT INTO events (id, stream, stream_version, type, data, raw, metadata, recorded_at)
		SELECT e.id, e.stream, e.stream_version, e.type, e.data, e.raw, e.metadata, $8
		FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::json[], $6::bytea[], $7::jsonb[])
			WITH ORDINALITY AS e(id, stream, stream_version, type, data, raw, metadata, ord)
		ORDER BY e.ord
		RETURNING tx_id, seq`,
		rows.ids, rows.streams, rows.versions, rows.types, rows.data, rows.raw, rows.meta, s.opts.Clock.Now().UTC())
	b.Queue(`INSERT INTO streams (stream, version)
		SELECT * FROM unnest($1::text[], $2::bigint[]) ORDER BY 1
		ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version`,
		upStreams, upVersions)
	b.Queue(`SELECT pg_notify('` + notifyChannel + `', pg_current_xact_id()::text)`)
	if commit {
		b.Queue(`COMMIT`)
	}
	br := q.SendBatch(ctx, b)
	err := func() error {
		r, err := br.Query()
		if err != nil {
			return err
		}
		n := 0
		var p domain.Position
		if _, err := pgx.ForEachRow(r, []any{&p.TxID, &p.Seq}, func() error {
			if n < len(byRow) {
				byRow[n].pos = p
			}
			n++
			return nil
		}); err != nil {
			return err
		}
		if n != len(byRow) {
			return fmt.Errorf("inserted %d events, want %d", n, len(byRow))
		}
		for range b.Len() - 1 { // streams, notify, commit
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		return nil
	}()
	if closeErr := br.Close(); err == nil {
		err = closeErr
	}
	return err
}

// validateRequest checks what the store needs and returns the event ids in
// canonical form.
func validateRequest(r domain.AppendRequest) ([]string, error) {
	if r.Stream == "" {
		return nil, fmt.Errorf("postgres: append: no stream: %w", domain.ErrInvalidEvent)
	}
	if r.Expected < domain.AnyVersion {
		return nil, fmt.Errorf("postgres: append to %s: expected version %d: %w", r.Stream, r.Expected, domain.ErrInvalidEvent)
	}
	ids := make([]string, len(r.Events))
	for j, e := range r.Events {
		id, ok := canonicalUUID(e.ID)
		if !ok {
			return nil, fmt.Errorf("postgres: append to %s: event %d: id %q is not a UUID: %w",
				r.Stream, j, e.ID, domain.ErrInvalidEvent)
		}
		if e.Type == "" {
			return nil, fmt.Errorf("postgres: append to %s: event %s: no type: %w", r.Stream, id, domain.ErrInvalidEvent)
		}
		ids[j] = id
	}
	return ids, nil
}
