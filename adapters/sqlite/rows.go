package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tidemark/tidemark/domain"
)

// rowsPerInsert caps one multi-row INSERT (8 parameters a row, well under
// SQLite's 32,766-parameter limit). Ids and streams are looked up in
// chunks of the same size.
const rowsPerInsert = 256

// eventRow is one events row to insert.
type eventRow struct {
	id, stream, typ, data, meta string
	version, recordedAt         int64
	raw                         []byte
}

func newRow(stream string, version int64, e domain.NewEvent, recordedAt int64) (eventRow, error) {
	meta, err := json.Marshal(e.Metadata)
	if err != nil {
		return eventRow{}, fmt.Errorf("sqlite: event %s: metadata: %w: %w", e.ID, err, domain.ErrInvalidEvent)
	}
	data := string(e.Data)
	if len(e.Data) == 0 {
		data = "null"
	}
	return eventRow{id: e.ID, stream: stream, typ: e.Type, data: data, meta: string(meta),
		version: version, recordedAt: recordedAt, raw: e.Raw}, nil
}

// insertSQL is a multi-row insert (verb: INSERT or INSERT OR IGNORE) of n rows followed by suffix.
func insertSQL(verb string, n int, suffix string) string {
	var b strings.Builder
	b.WriteString(verb + ` INTO events (id, stream, stream_version, type, data, raw, metadata, recorded_at) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(?,?,?,?,?,?,?,?)`)
	}
	b.WriteString(suffix)
	return b.String()
}

func rowArgs(rows []eventRow) []any {
	args := make([]any, 0, 8*len(rows))
	for _, r := range rows {
		args = append(args, r.id, r.stream, r.version, r.typ, r.data, r.raw, r.meta, r.recordedAt)
	}
	return args
}

// insertRows writes rows and returns the seq given to each id. With
// orIgnore a refused row is skipped by SQLite and reported as errRefused.
func insertRows(ctx context.Context, tx *sql.Tx, rows []eventRow, orIgnore bool) (map[string]int64, error) {
	verb := "INSERT"
	if orIgnore {
		verb = "INSERT OR IGNORE"
	}
	seqs := make(map[string]int64, len(rows))
	for start := 0; start < len(rows); start += rowsPerInsert {
		chunk := rows[start:min(start+rowsPerInsert, len(rows))]
		// RETURNING order is unspecified: rows are matched by id.
		res, err := tx.QueryContext(ctx, insertSQL(verb, len(chunk), ` RETURNING id, seq`), rowArgs(chunk)...)
		if err != nil {
			return nil, fail(ctx, "append: insert", err)
		}
		for res.Next() {
			var id string
			var seq int64
			if err := res.Scan(&id, &seq); err != nil {
				res.Close()
				return nil, fail(ctx, "append: insert", err)
			}
			seqs[id] = seq
		}
		if err := res.Err(); err != nil {
			res.Close()
			return nil, fail(ctx, "append: insert", err)
		}
		if err := res.Close(); err != nil {
			return nil, fail(ctx, "append: insert", err)
		}
	}
	if len(seqs) != len(rows) {
		return nil, fmt.Errorf("%w (%d of %d written)", errRefused, len(seqs), len(rows))
	}
	return seqs, nil
}

// stored is where an id already is: its seq (0 while only planned) and version.
type stored struct{ seq, version int64 }

// lookupIDs finds which ids are already stored.
func lookupIDs(ctx context.Context, tx *sql.Tx, ids []string) (map[string]stored, error) {
	known := make(map[string]stored, len(ids))
	query := func(n int) string {
		return `SELECT id, seq, stream_version FROM events WHERE id IN (?` + strings.Repeat(`,?`, n-1) + `)`
	}
	err := inChunks(ctx, tx, ids, query, func(rows *sql.Rows) error {
		var id string
		var k stored
		if err := rows.Scan(&id, &k.seq, &k.version); err != nil {
			return err
		}
		known[id] = k
		return nil
	})
	if err != nil {
		return nil, fail(ctx, "append: look up ids", err)
	}
	return known, nil
}

// lookupVersions finds each stream's last version (0 for a new stream). The
// correlated max() is answered from the UNIQUE(stream, stream_version)
// index in one step, however long the stream.
func lookupVersions(ctx context.Context, tx *sql.Tx, streams []string) (map[string]int64, error) {
	current := make(map[string]int64, len(streams))
	query := func(n int) string {
		return `WITH s(stream) AS (VALUES (?)` + strings.Repeat(`,(?)`, n-1) + `)
			SELECT s.stream, (SELECT max(stream_version) FROM events e WHERE e.stream = s.stream) FROM s`
	}
	err := inChunks(ctx, tx, streams, query, func(rows *sql.Rows) error {
		var stream string
		var v sql.NullInt64
		if err := rows.Scan(&stream, &v); err != nil {
			return err
		}
		current[stream] = v.Int64
		return nil
	})
	if err != nil {
		return nil, fail(ctx, "append: stream versions", err)
	}
	return current, nil
}

// inChunks runs query(n) with n of the distinct values at a time (at most
// rowsPerInsert), calling scan on every row.
func inChunks(ctx context.Context, tx *sql.Tx, values []string, query func(n int) string, scan func(*sql.Rows) error) error {
	seen := make(map[string]struct{}, len(values))
	distinct := make([]any, 0, len(values))
	for _, v := range values {
		if _, ok := seen[v]; !ok {
			seen[v] = struct{}{}
			distinct = append(distinct, v)
		}
	}
	for start := 0; start < len(distinct); start += rowsPerInsert {
		chunk := distinct[start:min(start+rowsPerInsert, len(distinct))]
		rows, err := tx.QueryContext(ctx, query(len(chunk)), chunk...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return err
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return nil
}
