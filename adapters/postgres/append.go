package postgres

import (
	"context"
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
	if _, err := tx.Exec(ctx, noSeqScanSQL); err != nil {
		return false, err
	}
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
				// Say why the request failed, not only why the rollback did:
				// the caller classifies the cause (a refused row is
				// ErrInvalidEvent, and group commit then isolates it).
				return false, fmt.Errorf("%w (then rolling back to its savepoint: %w)", err, rbErr)
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
	allIDs := idsOf(ids, idx)
	versions, found, err := lookup(ctx, q, streams, allIDs, mode)
	if err != nil {
		return nil, false, err
	}

	// Decide in Go, request by request, as if they ran one after another.
	// The slots of the batch share one array (never grown past its
	// capacity, so pointers into it stay valid), and so do the results'
	// slices: a batch costs a few allocations, not a few per event.
	n := len(allIDs)
	arena := make([]slot, 0, n)
	mineAll := make([]*slot, n)
	dupAll := make([]bool, n)
	outs := make([]outcome, len(idx))
	slots := make([][]*slot, len(idx))
	rows := newRows{
		ids: make([]string, 0, n), streams: make([]string, 0, n), types: make([]string, 0, n),
		versions: make([]int64, 0, n), data: make([][]byte, 0, n), raw: make([][]byte, 0, n), meta: make([][]byte, 0, n),
	}
	var metaBuf []byte
	var metaEnds []int
	grew := map[string]bool{} // streams that get new events
	off := 0
	for k, i := range idx {
		r := reqs[i]
		cur := versions[r.Stream]
		mine := mineAll[off : off+len(r.Events) : off+len(r.Events)]
		dup := dupAll[off : off+len(r.Events) : off+len(r.Events)]
		off += len(r.Events)
		var local map[string]*slot // an id twice in one request is written once
		fresh := 0
		for j, id := range ids[i] {
			if sl, ok := found[id]; ok {
				mine[j] = sl
				continue
			}
			if sl := sameID(ids[i][:j], mine, id, &local); sl != nil {
				mine[j] = sl
				continue
			}
			fresh++
			arena = append(arena, slot{row: slotPlanned})
			mine[j] = &arena[len(arena)-1]
			if local != nil {
				local[id] = mine[j]
			}
		}
		// Only a request with something new is checked (see domain.AppendResult).
		if fresh > 0 && r.Expected != domain.AnyVersion && int64(r.Expected) != cur {
			outs[k].err = fmt.Errorf("postgres: append to %s: expected version %d, stream is at %d: %w",
				r.Stream, r.Expected, cur, domain.ErrWrongExpectedVersion)
			continue
		}
		for j, id := range ids[i] {
			sl := mine[j]
			if sl.row != slotPlanned {
				dup[j] = true
				continue
			}
			if metaBuf, err = appendMetadata(metaBuf, r.Events[j].Metadata); err != nil {
				return nil, false, fmt.Errorf("metadata of %s: %w", id, err)
			}
			metaEnds = append(metaEnds, len(metaBuf))
			cur++
			sl.version, sl.row = cur, len(rows.ids)
			rows.ids = append(rows.ids, id)
			rows.streams = append(rows.streams, r.Stream)
			rows.versions = append(rows.versions, cur)
			rows.types = append(rows.types, r.Events[j].Type)
			rows.data = append(rows.data, []byte(r.Events[j].Data)) // []byte: nil stays NULL
			rows.raw = append(rows.raw, r.Events[j].Raw)
			found[id] = sl // later requests of the batch see it as stored
			grew[r.Stream] = true
		}
		versions[r.Stream] = cur
		slots[k] = mine
		outs[k].res = domain.AppendResult{Duplicates: dup, StreamVersion: cur}
	}
	start := 0
	for _, end := range metaEnds {
		rows.meta = append(rows.meta, metaBuf[start:end:end])
		start = end
	}

	if len(rows.ids) > 0 {
		if err := s.insert(ctx, q, rows, grownStreams(streams, grew, versions), slotsByRow(slots, len(rows.ids)), mode.txControl); err != nil {
			return nil, false, err
		}
	}
	positions := make([]domain.Position, n)
	vers := make([]int64, n)
	off = 0
	for k, i := range idx {
		m := len(reqs[i].Events)
		if outs[k].err == nil {
			res := &outs[k].res
			res.Positions, res.Versions = positions[off:off+m:off+m], vers[off:off+m:off+m]
			for j, sl := range slots[k] {
				res.Positions[j], res.Versions[j] = sl.pos, sl.version
			}
		}
		off += m
	}
	return outs, len(rows.ids) > 0, nil
}

// sameID finds id among the earlier ids of its request (their slots are
// mine): a linear scan for the usual few events, a map past that.
func sameID(earlier []string, mine []*slot, id string, local *map[string]*slot) *slot {
	if *local != nil {
		return (*local)[id]
	}
	if len(earlier) < 16 {
		for p, e := range earlier {
			if e == id {
				return mine[p]
			}
		}
		return nil
	}
	*local = make(map[string]*slot, 2*len(earlier))
	for p, e := range earlier {
		if _, ok := (*local)[e]; !ok {
			(*local)[e] = mine[p]
		}
	}
	return (*local)[id]
}

// grownStreams lists the streams that get new events, sorted (as streams
// is), with their new versions.
func grownStreams(streams []string, grew map[string]bool, versions map[string]int64) streamVersions {
	var out streamVersions
	for _, st := range streams {
		if grew[st] {
			out.streams = append(out.streams, st)
			out.versions = append(out.versions, versions[st])
		}
	}
	return out
}

// streamVersions are the new versions of the streams an insert moves.
type streamVersions struct {
	streams  []string
	versions []int64
}

func idsOf(ids [][]string, idx []int) []string {
	n := 0
	for _, i := range idx {
		n += len(ids[i])
	}
	out := make([]string, 0, n)
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
		b.Queue(noSeqScanSQL)
		b.Queue(lockStreamsSQL, streams)
	}
	b.Queue(lookupSQL, streams, ids)
	br := q.SendBatch(ctx, b)
	versions := make(map[string]int64, len(streams))
	found := make(map[string]*slot, len(ids))
	err := func() error {
		for range b.Len() - 1 { // BEGIN, SET, locks
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		var isEvent bool
		var key string
		var sl slot
		_, err = pgx.ForEachRow(rows, []any{&isEvent, &key, &sl.version, &sl.pos.TxID, &sl.pos.Seq}, func() error {
			if isEvent {
				found[key] = &slot{version: sl.version, pos: sl.pos, row: -1}
			} else {
				versions[key] = sl.version
			}
			return nil
		})
		return err
	}()
	if closeErr := br.Close(); err == nil {
		err = closeErr
	}
	return versions, found, err
}

// lookupSQL reads the streams' versions and the stored events among the
// ids in one statement. Ids travel as text (pgx has no binary encoding of a
// Go string as uuid and would try, fail and fall back on every call).
const lookupSQL = `SELECT false, stream, version, '0'::xid8, 0::bigint FROM streams WHERE stream = ANY($1::text[])
	UNION ALL
	SELECT true, id::text, stream_version, tx_id, seq FROM events WHERE id = ANY($2::text[]::uuid[])`

// noSeqScanSQL keeps the lookups on their indexes. Their statements are
// prepared once per connection, and after five runs PostgreSQL may keep a
// generic plan made while the tables were small, when a sequential scan
// was cheapest; until the next ANALYZE that plan then reads the whole,
// growing log for every batch (seen on a fresh database: 8M rows read for
// 25k appends). It lasts until the end of the transaction.
const noSeqScanSQL = `SET LOCAL enable_seqscan = off`

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

// insert writes the new events and moves the stream versions in one
// statement, notifies listeners (delivered at commit) and, with commit,
// commits, in one round trip.
func (s *Store) insert(ctx context.Context, q batcher, rows newRows, up streamVersions, byRow []*slot, commit bool) error {
	b := &pgx.Batch{}
	b.Queue(insertSQL, rows.ids, rows.streams, rows.versions, rows.types, rows.data, rows.raw, rows.meta,
		s.opts.Clock.Now().UTC(), up.streams, up.versions)
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
		for range b.Len() - 1 { // notify, commit
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

// insertSQL inserts the rows in ordinality order, so seq follows request
// order, and answers their positions in that order; the streams' new
// versions are written by the same statement.
const insertSQL = `WITH inserted AS (
		INSERT INTO events (id, stream, stream_version, type, data, raw, metadata, recorded_at)
		SELECT e.id::uuid, e.stream, e.stream_version, e.type, e.data, e.raw, e.metadata, $8
		FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::json[], $6::bytea[], $7::jsonb[])
			WITH ORDINALITY AS e(id, stream, stream_version, type, data, raw, metadata, ord)
		ORDER BY e.ord
		RETURNING tx_id, seq
	), moved AS (
		INSERT INTO streams (stream, version)
		SELECT * FROM unnest($9::text[], $10::bigint[]) ORDER BY 1
		ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version
	)
	SELECT tx_id, seq FROM inserted ORDER BY seq`

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
		id, ok := e.ID, isCanonicalUUID(e.ID) // the usual case: domain.EventID's form
		if !ok {
			id, ok = canonicalUUID(e.ID)
		}
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

// isCanonicalUUID: s is already in the form canonicalUUID returns.
func isCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
