package projections

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// RowSource yields rows in a Table's column order. Its method set matches
// pgx.CopyFromSource so a bulk load streams straight into COPY.
type RowSource interface {
	Next() bool
	Values() ([]any, error)
	Err() error
}

// Rows is a RowSource over rows already in memory.
func Rows(rows [][]any) RowSource { return &sliceRows{rows: rows, i: -1} }

type sliceRows struct {
	rows [][]any
	i    int
}

func (s *sliceRows) Next() bool             { s.i++; return s.i < len(s.rows) }
func (s *sliceRows) Values() ([]any, error) { return s.rows[s.i], nil }
func (s *sliceRows) Err() error             { return nil }

type writeMode int

const (
	modeUpsert writeMode = iota // live batches: INSERT ... ON CONFLICT DO UPDATE
	modeBulk                    // rebuild into new tables: COPY / plain multi-row INSERT
)

// Tx is one read-model transaction as a Fold sees it: table names resolved
// to the version being written, queries with ? placeholders and bound
// parameters, and Write doing an upsert (live) or a bulk load (rebuild).
type Tx struct {
	q     sqlq
	names map[string]string // base name -> physical name
	mode  writeMode
	rawPG func(func(driverConn any) error) error // the connection under q (COPY)
	// chunked, when set (SQLite bulk loads), writes in short transactions
	// of its own, chunkRows rows each, instead of in q's: SQLite has one
	// writer, and ingest must not wait for a whole table to be written.
	chunked func(ctx context.Context, fn func(q sqlq) error) error
}

// chunkRows is the size of a chunked write's transactions.
const chunkRows = 5000

// Name is the quoted physical name of a projection table (e.g. "devices_v3").
// An unknown base name yields a name that fails in SQL, never another table.
func (tx *Tx) Name(base string) string {
	if n, ok := tx.names[base]; ok {
		return quote(n)
	}
	return quote("unknown_table_" + base)
}

// Query runs a read with ? placeholders inside the transaction.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.q.query(ctx, query, args...)
}

// Write stores rows of t (values in t's column order, plain Go values:
// int64, string, bool, *bool, []byte JSON, time.Time, nil).
func (tx *Tx) Write(ctx context.Context, t *Table, rows RowSource) error {
	name, ok := tx.names[t.Name]
	if !ok {
		return fmt.Errorf("projections: table %s not part of this transaction", t.Name)
	}
	var err error
	switch {
	case tx.mode == modeBulk && tx.q.f == flavorPostgres && tx.rawPG != nil:
		_, err = copyRows(ctx, tx.q.f, tx.rawPG, name, t, rows)
	case tx.mode == modeUpsert && tx.q.f == flavorPostgres:
		_, err = upsertUnnest(ctx, tx.q, name, t, rows)
	case tx.chunked != nil:
		for part := (&limitRows{src: rows}); !part.done && err == nil; {
			part.left = chunkRows
			err = tx.chunked(ctx, func(q sqlq) error {
				_, err := insertRows(ctx, q, name, t, part, tx.mode == modeUpsert)
				return err
			})
		}
	default:
		_, err = insertRows(ctx, tx.q, name, t, rows, tx.mode == modeUpsert)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// insertRows writes INSERT statements, upserting when asked.
func insertRows(ctx context.Context, q sqlq, name string, t *Table, rows RowSource, upsert bool) (int64, error) {
	cols := t.colNames()
	// Rows per statement. SQLite gets one: a one-row INSERT needs no
	// statement journal and modernc.org/sqlite binds parameters by a linear
	// search (quadratic in their number), so one prepared single-row
	// statement measured 5-10x faster than multi-row ones. PostgreSQL gets
	// many per round trip, under its 65535 parameters.
	per := 1
	if q.f == flavorPostgres {
		per = min(500, 30000/len(cols))
	}
	head := fmt.Sprintf("INSERT INTO %s (%s) VALUES ", quote(name), quoteList(cols))
	tail := ""
	if upsert {
		tail = conflictClause(t)
	}
	rowPH := "(" + placeholders(len(cols)) + ")"
	args := make([]any, 0, per*len(cols))
	var total int64
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			_ = st.Close()
		}
	}()
	flush := func(n int) error {
		if n == 0 {
			return nil
		}
		text := head + strings.Repeat(rowPH+", ", n-1) + rowPH + tail
		if q.f == flavorPostgres { // pgx prepares and caches statements itself
			if _, err := q.exec(ctx, text, args...); err != nil {
				return err
			}
		} else {
			st, ok := stmts[n]
			if !ok {
				var err error
				if st, err = q.prepare(ctx, text); err != nil {
					return err
				}
				stmts[n] = st
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return err
			}
		}
		total += int64(n)
		args = args[:0]
		return nil
	}
	n := 0
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return total, err
		}
		if len(vals) != len(cols) {
			return total, fmt.Errorf("row has %d values, table %s has %d columns", len(vals), t.Name, len(cols))
		}
		for i, v := range vals {
			args = append(args, q.f.encode(t.Columns[i].Type, v))
		}
		n++
		if n == per {
			if err := flush(n); err != nil {
				return total, err
			}
			n = 0
		}
	}
	if err := rows.Err(); err != nil {
		return total, err
	}
	return total, flush(n)
}

func conflictClause(t *Table) string {
	key := map[string]bool{}
	for _, k := range t.Key {
		key[k] = true
	}
	var sets []string
	for _, c := range t.Columns {
		if !key[c.Name] {
			sets = append(sets, fmt.Sprintf("%s = excluded.%s", quote(c.Name), quote(c.Name)))
		}
	}
	if len(sets) == 0 {
		return fmt.Sprintf(" ON CONFLICT (%s) DO NOTHING", quoteList(t.Key))
	}
	return fmt.Sprintf(" ON CONFLICT (%s) DO UPDATE SET %s", quoteList(t.Key), strings.Join(sets, ", "))
}

// copyRows streams rows into COPY on the pgx connection under the open
// transaction (database/sql lets Raw reach the driver connection).
func copyRows(ctx context.Context, f flavor, raw func(func(any) error) error, name string, t *Table, rows RowSource) (int64, error) {
	var n int64
	err := raw(func(dc any) error {
		c, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return fmt.Errorf("COPY needs a pgx connection, have %T", dc)
		}
		var err error
		n, err = c.Conn().CopyFrom(ctx, pgx.Identifier{name}, t.colNames(), &encodedRows{src: rows, f: f, t: t})
		return err
	})
	return n, err
}

type encodedRows struct {
	src RowSource
	f   flavor
	t   *Table
	buf []any
}

func (e *encodedRows) Next() bool { return e.src.Next() }
func (e *encodedRows) Err() error { return e.src.Err() }
func (e *encodedRows) Values() ([]any, error) {
	vals, err := e.src.Values()
	if err != nil {
		return nil, err
	}
	if len(vals) != len(e.t.Columns) {
		return nil, fmt.Errorf("row has %d values, table %s has %d columns", len(vals), e.t.Name, len(e.t.Columns))
	}
	e.buf = e.buf[:0]
	for i, v := range vals {
		e.buf = append(e.buf, e.f.encode(e.t.Columns[i].Type, v))
	}
	return e.buf, nil
}

// limitRows passes on up to left rows of src, then reports the end; done
// says whether src itself has ended.
type limitRows struct {
	src  RowSource
	left int
	done bool
}

func (l *limitRows) Next() bool {
	if l.left <= 0 || l.done {
		return false
	}
	if !l.src.Next() {
		l.done = true
		return false
	}
	l.left--
	return true
}

func (l *limitRows) Values() ([]any, error) { return l.src.Values() }
func (l *limitRows) Err() error             { return l.src.Err() }
