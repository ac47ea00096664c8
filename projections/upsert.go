package projections

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// upsertUnnest writes rows on PostgreSQL as one INSERT ... SELECT FROM
// unnest(column arrays) ON CONFLICT: one statement text whatever the number
// of rows, so it is prepared once per table, where a multi-row VALUES list
// is a new statement (a new prepare) for every batch size; and one array
// parameter per column instead of one per value.
func upsertUnnest(ctx context.Context, q sqlq, name string, t *Table, rows RowSource) (int64, error) {
	cols := make([]columnArray, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = newColumnArray(c.Type)
	}
	var n int64
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return 0, err
		}
		if len(vals) != len(cols) {
			return 0, fmt.Errorf("row has %d values, table %s has %d columns", len(vals), t.Name, len(cols))
		}
		for i, v := range vals {
			if err := cols[i].add(q.f.encode(t.Columns[i].Type, v)); err != nil {
				return 0, fmt.Errorf("%s.%s: %w", t.Name, t.Columns[i].Name, err)
			}
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	args := make([]any, len(cols))
	for i := range cols {
		args[i] = cols[i].array()
	}
	if _, err := q.exec(ctx, unnestSQL(name, t), args...); err != nil {
		return 0, err
	}
	return n, nil
}

func unnestSQL(name string, t *Table) string {
	params := make([]string, len(t.Columns))
	sel := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		params[i] = fmt.Sprintf("$%d::%s[]", i+1, arrayElemType(c.Type))
		sel[i] = fmt.Sprintf("c%d", i+1)
		if c.Type == JSON {
			sel[i] += "::json" // sent as text: the fold's JSON bytes as they are
		}
	}
	alias := make([]string, len(t.Columns))
	for i := range alias {
		alias[i] = fmt.Sprintf("c%d", i+1)
	}
	return fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM unnest(%s) AS u(%s)%s",
		quote(name), quoteList(t.colNames()), strings.Join(sel, ", "), strings.Join(params, ", "),
		strings.Join(alias, ", "), conflictClause(t))
}

func arrayElemType(c ColType) string {
	switch c {
	case Int64:
		return "bigint"
	case Bool:
		return "boolean"
	case Time:
		return "timestamptz"
	default: // Text, JSON
		return "text"
	}
}

// columnArray collects one column's values as pgtype values (nulls
// included, no allocation per value).
type columnArray struct {
	typ   ColType
	ints  []pgtype.Int8
	texts []pgtype.Text
	bools []pgtype.Bool
	times []pgtype.Timestamptz
}

func newColumnArray(c ColType) columnArray { return columnArray{typ: c} }

func (a *columnArray) add(v any) error {
	switch a.typ {
	case Int64:
		x, ok := v.(int64)
		if v != nil && !ok {
			return fmt.Errorf("value of type %T, want int64", v)
		}
		a.ints = append(a.ints, pgtype.Int8{Int64: x, Valid: ok})
	case Bool:
		x, ok := v.(bool)
		if v != nil && !ok {
			return fmt.Errorf("value of type %T, want bool", v)
		}
		a.bools = append(a.bools, pgtype.Bool{Bool: x, Valid: ok})
	case Time:
		x, ok := v.(time.Time)
		if v != nil && !ok {
			return fmt.Errorf("value of type %T, want time.Time", v)
		}
		a.times = append(a.times, pgtype.Timestamptz{Time: x, Valid: ok})
	default:
		x, ok := v.(string)
		if v != nil && !ok {
			return fmt.Errorf("value of type %T, want string", v)
		}
		a.texts = append(a.texts, pgtype.Text{String: x, Valid: ok})
	}
	return nil
}

func (a *columnArray) array() any {
	switch a.typ {
	case Int64:
		return a.ints
	case Bool:
		return a.bools
	case Time:
		return a.times
	default:
		return a.texts
	}
}
