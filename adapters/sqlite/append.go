package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tidemark/tidemark/domain"
)

// Append writes one request atomically in its own transaction.
func (s *Store) Append(ctx context.Context, req domain.AppendRequest) (domain.AppendResult, error) {
	results, errs, err := s.AppendBatch(ctx, []domain.AppendRequest{req})
	if err != nil {
		return domain.AppendResult{}, err
	}
	if errs[0] != nil {
		return domain.AppendResult{}, errs[0]
	}
	return results[0], nil
}

// AppendBatch writes the requests in one transaction.
//
// Fast path: the transaction holds the write lock (BEGIN IMMEDIATE), so
// nothing can write between its reads and its inserts. Two lookups (the ids
// already stored, the streams' versions) decide every request's outcome in
// memory, and all new rows go in with multi-row INSERTs. The driver parses
// every statement anew, so a batch costs a handful of statements, not three
// per event.
//
// Careful path: if an insert still fails with a per-request error (a
// constraint or trigger the plan could not foresee), the fast path is rolled
// back and the requests are written one by one, each inside its own
// SAVEPOINT, so the failing request is rolled back alone. (Savepoints are
// not used on the fast path: each one costs the driver a 64 KiB sub-journal
// allocation, which made batches four times slower.)
//
// A failure of the store itself (busy, disk full, I/O, ctx ended) fails the
// whole batch and nothing is written.
func (s *Store) AppendBatch(ctx context.Context, reqs []domain.AppendRequest) ([]domain.AppendResult, []error, error) {
	if err := s.checkOpen(); err != nil {
		return nil, nil, err
	}
	errs := make([]error, len(reqs))
	valid := 0
	for i := range reqs {
		if errs[i] = validateRequest(reqs[i]); errs[i] == nil {
			valid++
		}
	}
	if valid == 0 {
		return make([]domain.AppendResult, len(reqs)), errs, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}

	tx, err := s.writer.BeginTx(ctx, nil) // BEGIN IMMEDIATE (see dsn)
	if err != nil {
		return nil, nil, fail(ctx, "append: begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	now := s.opts.Clock.Now().UTC().UnixMicro()

	results, err := appendPlanned(ctx, tx, reqs, errs, now)
	if err != nil {
		if isBatchFatal(ctx, err) {
			return nil, nil, err
		}
		results, err = appendOneByOne(ctx, tx, reqs, errs, now)
		if err != nil {
			return nil, nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fail(ctx, "append: commit", err)
	}
	s.notify.broadcast()
	return results, errs, nil
}

// isBatchFatal tells a failure of the store (the batch must fail) from a
// failure of one request (only that request fails).
func isBatchFatal(ctx context.Context, err error) bool {
	return ctx.Err() != nil ||
		!(errors.Is(err, domain.ErrWrongExpectedVersion) || errors.Is(err, domain.ErrInvalidEvent))
}

// appendPlanned is the fast path. errs holds the validation outcome on
// entry and gets the conflicts; on a per-request insert error it returns
// that error with the transaction as it was (a savepoint undoes the rows).
func appendPlanned(ctx context.Context, tx *sql.Tx, reqs []domain.AppendRequest, errs []error, now int64) ([]domain.AppendResult, error) {
	var ids, streams []string
	for i, r := range reqs {
		if errs[i] != nil {
			continue
		}
		streams = append(streams, r.Stream)
		for _, e := range r.Events {
			ids = append(ids, e.ID)
		}
	}
	known, err := lookupIDs(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	current, err := lookupVersions(ctx, tx, streams)
	if err != nil {
		return nil, err
	}

	planErrs := make([]error, len(reqs))
	results := make([]domain.AppendResult, len(reqs))
	var rows []eventRow
	for i, r := range reqs {
		if errs[i] != nil {
			continue
		}
		res, newRows, err := plan(r, known, current, now)
		if err != nil {
			planErrs[i] = err
			continue
		}
		results[i] = res
		rows = append(rows, newRows...)
	}

	// One statement is atomic by itself; more need a savepoint to be undone together.
	multi := len(rows) > rowsPerInsert
	if multi {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT planned`); err != nil {
			return nil, fail(ctx, "append: savepoint", err)
		}
	}
	seqs, err := insertRows(ctx, tx, rows)
	if err != nil {
		if multi && !isBatchFatal(ctx, err) {
			if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO planned; RELEASE planned`); rerr != nil {
				return nil, fail(ctx, "append: rollback to savepoint", rerr)
			}
		}
		return nil, err
	}
	if multi {
		if _, err := tx.ExecContext(ctx, `RELEASE planned`); err != nil {
			return nil, fail(ctx, "append: release savepoint", err)
		}
	}
	for id, seq := range seqs {
		k := known[id]
		k.seq = seq
		known[id] = k
	}
	for i, r := range reqs {
		if errs[i] != nil || planErrs[i] != nil {
			continue
		}
		for j, e := range r.Events {
			results[i].Positions[j] = domain.Position{Seq: known[e.ID].seq}
		}
	}
	for i, err := range planErrs { // kept apart until now: the careful path decides afresh
		if err != nil {
			errs[i] = err
		}
	}
	return results, nil
}

// plan decides one request against the ids and versions known so far and
// records what it writes in known and current, so later requests of the
// batch see it. Positions of new rows are filled in after the insert.
func plan(r domain.AppendRequest, known map[string]stored, current map[string]int64, now int64) (domain.AppendResult, []eventRow, error) {
	n := len(r.Events)
	res := domain.AppendResult{
		Positions:  make([]domain.Position, n),
		Versions:   make([]int64, n),
		Duplicates: make([]bool, n),
	}
	fresh := 0
	for j, e := range r.Events {
		if k, ok := known[e.ID]; ok {
			res.Versions[j] = k.version
			res.Duplicates[j] = true
		} else {
			fresh++
		}
	}
	version := current[r.Stream]
	if fresh == 0 { // a retry of a committed append: succeed whatever Expected says
		res.StreamVersion = version
		return res, nil, nil
	}
	if r.Expected != domain.AnyVersion && int64(r.Expected) != version {
		return res, nil, fmt.Errorf("sqlite: append to %q: expected version %d, stream is at %d: %w",
			r.Stream, r.Expected, version, domain.ErrWrongExpectedVersion)
	}
	rows := make([]eventRow, 0, fresh)
	for j, e := range r.Events {
		if res.Duplicates[j] {
			continue
		}
		version++
		row, err := newRow(r.Stream, version, e, now)
		if err != nil {
			return res, nil, err
		}
		rows = append(rows, row)
		res.Versions[j] = version
	}
	// Only now, when the request is sure to be written, does the batch see it.
	for j, e := range r.Events {
		if !res.Duplicates[j] {
			known[e.ID] = stored{version: res.Versions[j]}
		}
	}
	current[r.Stream] = version
	res.StreamVersion = version
	return res, rows, nil
}

// appendOneByOne is the careful path: each request reads, checks and writes
// on its own inside a SAVEPOINT that is rolled back if it fails.
func appendOneByOne(ctx context.Context, tx *sql.Tx, reqs []domain.AppendRequest, errs []error, now int64) ([]domain.AppendResult, error) {
	results := make([]domain.AppendResult, len(reqs))
	one := make([]error, 1)
	for i, r := range reqs {
		if errs[i] != nil {
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT req`); err != nil {
			return nil, fail(ctx, "append: savepoint", err)
		}
		one[0] = nil
		res, err := appendPlanned(ctx, tx, []domain.AppendRequest{r}, one, now)
		if err == nil {
			err = one[0]
		}
		if err != nil {
			if isBatchFatal(ctx, err) {
				return nil, err
			}
			if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO req; RELEASE req`); rerr != nil {
				return nil, fail(ctx, "append: rollback to savepoint", rerr)
			}
			errs[i] = err
			continue
		}
		if _, err := tx.ExecContext(ctx, `RELEASE req`); err != nil {
			return nil, fail(ctx, "append: release savepoint", err)
		}
		results[i] = res[0]
	}
	return results, nil
}
