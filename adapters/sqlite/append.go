package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
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

// AppendBatch writes the requests in one transaction, each inside its own
// SAVEPOINT so a request that fails (conflict, invalid event) is rolled back
// alone. A failure of the store itself (busy, disk full, I/O) fails the
// whole batch and nothing is written.
func (s *Store) AppendBatch(ctx context.Context, reqs []domain.AppendRequest) ([]domain.AppendResult, []error, error) {
	if err := s.checkOpen(); err != nil {
		return nil, nil, err
	}
	results := make([]domain.AppendResult, len(reqs))
	errs := make([]error, len(reqs))
	valid := 0
	for i := range reqs {
		if errs[i] = validateRequest(reqs[i]); errs[i] == nil {
			valid++
		}
	}
	if valid == 0 {
		return results, errs, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}

	tx, err := s.writer.BeginTx(ctx, nil) // BEGIN IMMEDIATE (see dsn)
	if err != nil {
		return nil, nil, fail(ctx, "append: begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	st := txStmts{
		find:    tx.StmtContext(ctx, s.findStmt),
		version: tx.StmtContext(ctx, s.versionStmt),
		insert:  tx.StmtContext(ctx, s.insertStmt),
	}
	now := s.opts.Clock.Now().UTC().UnixMicro()
	// A lone request needs no savepoint: its failure rolls back the transaction.
	useSavepoints := valid > 1
	for i, req := range reqs {
		if errs[i] != nil {
			continue
		}
		if useSavepoints {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT req`); err != nil {
				return nil, nil, fail(ctx, "append: savepoint", err)
			}
		}
		res, err := appendOne(ctx, st, req, now)
		if err != nil {
			if isBatchFatal(ctx, err) {
				return nil, nil, err
			}
			if !useSavepoints {
				errs[i] = err
				return results, errs, nil // the deferred Rollback undoes it
			}
			if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO req; RELEASE req`); rerr != nil {
				return nil, nil, fail(ctx, "append: rollback to savepoint", rerr)
			}
			errs[i] = err
			continue
		}
		if useSavepoints {
			if _, err := tx.ExecContext(ctx, `RELEASE req`); err != nil {
				return nil, nil, fail(ctx, "append: release savepoint", err)
			}
		}
		results[i] = res
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

type txStmts struct {
	find, version, insert *sql.Stmt
}

// appendOne does one request inside the current transaction.
func appendOne(ctx context.Context, st txStmts, req domain.AppendRequest, now int64) (domain.AppendResult, error) {
	n := len(req.Events)
	res := domain.AppendResult{
		Positions:  make([]domain.Position, n),
		Versions:   make([]int64, n),
		Duplicates: make([]bool, n),
	}
	fresh := 0
	for i, e := range req.Events {
		var seq, ver int64
		switch err := st.find.QueryRowContext(ctx, e.ID).Scan(&seq, &ver); {
		case errors.Is(err, sql.ErrNoRows):
			fresh++
		case err != nil:
			return res, fail(ctx, "append: look up id", err)
		default:
			res.Positions[i] = domain.Position{Seq: seq}
			res.Versions[i] = ver
			res.Duplicates[i] = true
		}
	}
	var current int64
	if err := st.version.QueryRowContext(ctx, req.Stream).Scan(&current); err != nil {
		return res, fail(ctx, "append: stream version", err)
	}
	if fresh == 0 { // a retry of a committed append: succeed whatever Expected says
		res.StreamVersion = current
		return res, nil
	}
	if req.Expected != domain.AnyVersion && int64(req.Expected) != current {
		return res, fmt.Errorf("sqlite: append to %q: expected version %d, stream is at %d: %w",
			req.Stream, req.Expected, current, domain.ErrWrongExpectedVersion)
	}
	for i, e := range req.Events {
		if res.Duplicates[i] {
			continue
		}
		meta, err := json.Marshal(e.Metadata)
		if err != nil {
			return res, fmt.Errorf("sqlite: append: metadata of %s: %v: %w", e.ID, err, domain.ErrInvalidEvent)
		}
		current++
		r, err := st.insert.ExecContext(ctx, e.ID, req.Stream, current, e.Type, dataText(e.Data), e.Raw, string(meta), now)
		if err != nil {
			return res, fail(ctx, "append: insert", err)
		}
		seq, err := r.LastInsertId()
		if err != nil {
			return res, fail(ctx, "append: insert", err)
		}
		res.Positions[i] = domain.Position{Seq: seq}
		res.Versions[i] = current
	}
	res.StreamVersion = current
	return res, nil
}

// dataText is the JSON text stored for an event's data ("null" when absent).
func dataText(d json.RawMessage) string {
	if len(d) == 0 {
		return "null"
	}
	return string(d)
}

// validateRequest rejects what no store may write: no stream, no events, an
// event without id or type, data that is not JSON, one id twice.
func validateRequest(req domain.AppendRequest) error {
	if req.Stream == "" {
		return fmt.Errorf("sqlite: append: empty stream: %w", domain.ErrInvalidEvent)
	}
	if len(req.Events) == 0 {
		return fmt.Errorf("sqlite: append to %q: no events: %w", req.Stream, domain.ErrInvalidEvent)
	}
	seen := make(map[string]struct{}, len(req.Events))
	for i, e := range req.Events {
		if err := validateEvent(e); err != nil {
			return fmt.Errorf("sqlite: append to %q, event %d: %w", req.Stream, i, err)
		}
		if _, dup := seen[e.ID]; dup {
			return fmt.Errorf("sqlite: append to %q: id %s twice in one request: %w", req.Stream, e.ID, domain.ErrInvalidEvent)
		}
		seen[e.ID] = struct{}{}
	}
	return nil
}

func validateEvent(e domain.NewEvent) error {
	switch {
	case e.ID == "":
		return fmt.Errorf("empty id: %w", domain.ErrInvalidEvent)
	case e.Type == "":
		return fmt.Errorf("event %s: empty type: %w", e.ID, domain.ErrInvalidEvent)
	case len(e.Data) > 0 && !json.Valid(e.Data):
		return fmt.Errorf("event %s: data is not JSON: %w", e.ID, domain.ErrInvalidEvent)
	}
	return nil
}
