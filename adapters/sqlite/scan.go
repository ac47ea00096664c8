package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"time"

	"github.com/tidemark/tidemark/domain"
)

// scanColumns are the lean columns of a scan: no raw body, of the
// metadata only what the folds use.
const scanColumns = `seq, id, stream, stream_version, type, data,
	json_extract(metadata, '$.source'), json_extract(metadata, '$.receivedAt'), recorded_at`

// ScanAll implements domain.LogScanner: log order walks seq (the rowid);
// by stream walks the (stream, stream_version) index over the prefix's
// range. SQLite compares text bytewise, so the range is exact.
func (s *Store) ScanAll(ctx context.Context, sc domain.Scan, fn func([]domain.Event) error) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if sc.Batch <= 0 {
		sc.Batch = 5000
	}
	if sc.After.TxID > 0 || sc.Through.TxID > 0 {
		return fmt.Errorf("sqlite: scan: positions with a transaction id are not SQLite's: %w", domain.ErrInvalidPosition)
	}
	var (
		rows *sql.Rows
		err  error
	)
	if sc.ByStream {
		if sc.After != domain.Start {
			return fmt.Errorf("sqlite: scan by stream after %s: %w", sc.After, errors.ErrUnsupported)
		}
		cond, args := "stream >= ?", []any{sc.StreamPrefix}
		if end, ok := prefixEnd(sc.StreamPrefix); ok {
			cond, args = cond+" AND stream < ?", append(args, end)
		}
		rows, err = s.reader.QueryContext(ctx, `SELECT `+scanColumns+` FROM events
			WHERE `+cond+` AND seq <= ? AND substr(type, 1, ?) = ?
			ORDER BY stream, stream_version`,
			append(args, sc.Through.Seq, len(sc.TypePrefix), sc.TypePrefix)...)
	} else {
		rows, err = s.reader.QueryContext(ctx, `SELECT `+scanColumns+` FROM events
			WHERE seq > ? AND seq <= ? AND substr(type, 1, ?) = ? ORDER BY seq`,
			sc.After.Seq, sc.Through.Seq, len(sc.TypePrefix), sc.TypePrefix)
	}
	if err != nil {
		return fail(ctx, "scan", err)
	}
	defer rows.Close()
	batch := make([]domain.Event, 0, sc.Batch)
	for rows.Next() {
		var (
			e              domain.Event
			source, recvAt []byte // nil when absent
			recorded       int64
		)
		if err := rows.Scan(&e.Position.Seq, &e.ID, &e.Stream, &e.StreamVersion, &e.Type, (*[]byte)(&e.Data),
			&source, &recvAt, &recorded); err != nil {
			return fail(ctx, "scan", err)
		}
		m, err := domain.LeanMetadata(source, recvAt)
		if err != nil {
			return fmt.Errorf("sqlite: scan: event %s: %w", e.ID, err)
		}
		e.Metadata = m
		e.RecordedAt = time.UnixMicro(recorded).UTC()
		batch = append(batch, e)
		if len(batch) == sc.Batch {
			if err := fn(batch); err != nil {
				return err
			}
			batch = make([]domain.Event, 0, sc.Batch)
		}
	}
	if err := rows.Err(); err != nil {
		return fail(ctx, "scan", err)
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}

// prefixEnd is the least string above every string starting with prefix,
// bytewise; false when there is none (empty, or all 0xFF bytes).
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

var _ domain.LogScanner = (*Store)(nil)
