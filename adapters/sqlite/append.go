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
// memory, and all new rows go in with multi-row INSERT OR IGNORE
// statements. The driver parses every statement anew, so a batch costs a
// handful of statements instead of three per event; and OR IGNORE spares
// SQLite the statement journal a multi-row insert would otherwise keep
// (with modernc.org/sqlite, each journal costs a 64 KiB mmap and munmap).
//
// Careful path: if a row is still refused (a constraint or trigger the plan
// could not foresee: fewer rows come back than were sent), the fast
// transaction is rolled back and a new one writes the requests one by one,
// each inside its own SAVEPOINT, so the failing request is rolled back
// alone and gets the error.
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
	now := s.opts.Clock.Now().UTC().UnixMicro()

	var results []domain.AppendResult
	var planErrs []error
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		results, planErrs, err = appendPlanned(ctx, tx, reqs, errs, now, true)
		return err
	})
	if err != nil && !isBatchFatal(ctx, err) {
		err = s.inTx(ctx, func(tx *sql.Tx) (err error) {
			results, planErrs, err = appendOneByOne(ctx, tx, reqs, errs, now)
			return err
		})
	}
	if err != nil {
		return nil, nil, err
	}
	s.notify.broadcast()
	for i, e := range planErrs {
		if e != nil {
			errs[i] = e
		}
	}
	return results, errs, nil
}

// inTx runs fn in a writer transaction and commits unless fn fails.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tx, err := s.writer.BeginTx(ctx, nil) // BEGIN IMMEDIATE (see dsn)
	if err != nil {
		return fail(ctx, "begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fail(ctx, "commit", err)
	}
	return nil
}

// isBatchFatal tells a failure of the store (the batch must fail) from a
// failure of one request (only that request fails).
func isBatchFatal(ctx context.Context, err error) bool {
	return ctx.Err() != nil ||
		!(errors.Is(err, domain.ErrWrongExpectedVersion) || errors.Is(err, domain.ErrInvalidEvent))
}

// errRefused: an insert wrote fewer rows than planned.
var errRefused = fmt.Errorf("sqlite: append: a row was refused: %w", domain.ErrWrongExpectedVersion)

// appendPlanned decides and writes the requests not already failed in
// skip. It returns each request's result and, apart, the requests that
// conflict. An error means the insert failed and the transaction must be
// rolled back: per-request (errRefused, a constraint) or fatal. With
// orIgnore false, a refused row fails the statement with SQLite's own error.
func appendPlanned(ctx context.Context, tx *sql.Tx, reqs []domain.AppendRequest, skip []error, now int64, orIgnore bool) ([]domain.AppendResult, []error, error) {
	var ids, streams []string
	for i, r := range reqs {
		if skip[i] != nil {
			continue
		}
		streams = append(streams, r.Stream)
		for _, e := range r.Events {
			ids = append(ids, e.ID)
		}
	}
	known, err := lookupIDs(ctx, tx, ids)
	if err != nil {
		return nil, nil, err
	}
	current, err := lookupVersions(ctx, tx, streams)
	if err != nil {
		return nil, nil, err
	}

	planErrs := make([]error, len(reqs))
	results := make([]domain.AppendResult, len(reqs))
	var rows []eventRow
	for i, r := range reqs {
		if skip[i] != nil {
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

	seqs, err := insertRows(ctx, tx, rows, orIgnore)
	if err != nil {
		return nil, nil, err
	}
	for id, seq := range seqs {
		k := known[id]
		k.seq = seq
		known[id] = k
	}
	for i, r := range reqs {
		if skip[i] != nil || planErrs[i] != nil {
			continue
		}
		for j, e := range r.Events {
			results[i].Positions[j] = domain.Position{Seq: known[e.ID].seq}
		}
	}
	return results, planErrs, nil
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

// appendOneByOne is the careful path: each request reads, checks and
// writes on its own inside a SAVEPOINT that is rolled back if it fails.
func appendOneByOne(ctx context.Context, tx *sql.Tx, reqs []domain.AppendRequest, skip []error, now int64) ([]domain.AppendResult, []error, error) {
	results := make([]domain.AppendResult, len(reqs))
	reqErrs := make([]error, len(reqs))
	for i := range reqs {
		if skip[i] != nil {
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT req`); err != nil {
			return nil, nil, fail(ctx, "append: savepoint", err)
		}
		res, planErrs, err := appendPlanned(ctx, tx, reqs[i:i+1], skip[i:i+1], now, false)
		switch {
		case err != nil && isBatchFatal(ctx, err):
			return nil, nil, err
		case err != nil:
			if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO req; RELEASE req`); rerr != nil {
				return nil, nil, fail(ctx, "append: rollback to savepoint", rerr)
			}
			reqErrs[i] = err
			continue
		case planErrs[0] != nil:
			reqErrs[i] = planErrs[0] // decided before anything was written
		default:
			results[i] = res[0]
		}
		if _, err := tx.ExecContext(ctx, `RELEASE req`); err != nil {
			return nil, nil, fail(ctx, "append: release savepoint", err)
		}
	}
	return results, reqErrs, nil
}
