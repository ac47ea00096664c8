package projections

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// flavor is the SQL dialect of the read-model database. Queries are written
// once with ? placeholders; rebind turns them into $n for PostgreSQL, so
// every value travels as a bound parameter (bun's own formatting would
// interpolate them into the text).
type flavor int

const (
	flavorSQLite flavor = iota
	flavorPostgres
)

func flavorOf(db bun.IDB) (flavor, error) {
	switch db.Dialect().Name() {
	case dialect.PG:
		return flavorPostgres, nil
	case dialect.SQLite:
		return flavorSQLite, nil
	default:
		return 0, fmt.Errorf("projections: unsupported bun dialect %s", db.Dialect().Name())
	}
}

func (f flavor) String() string {
	if f == flavorPostgres {
		return "postgres"
	}
	return "sqlite"
}

// rebind rewrites ? placeholders as $1, $2, ... on PostgreSQL. The queries
// of this package never contain a literal question mark.
func (f flavor) rebind(q string) string {
	if f != flavorPostgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// timeArg is how a time is bound: timestamptz on PostgreSQL, unix
// microseconds on SQLite (like the SQLite event log).
func (f flavor) timeArg(t time.Time) any {
	if f == flavorPostgres {
		return t.UTC()
	}
	return t.UnixMicro()
}

// forUpdate is the row-lock suffix; SQLite's single writer needs none.
func (f flavor) lockSuffix(exclusive bool) string {
	if f != flavorPostgres {
		return ""
	}
	if exclusive {
		return " FOR UPDATE"
	}
	return " FOR SHARE"
}

// execer is what *sql.DB, *sql.Conn and *sql.Tx all offer.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// sqlq runs ?-placeholder queries with bound parameters on one executor.
type sqlq struct {
	f flavor
	x execer
}

func (q sqlq) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.x.ExecContext(ctx, q.f.rebind(query), args...)
}

func (q sqlq) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.x.QueryContext(ctx, q.f.rebind(query), args...)
}

func (q sqlq) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	return q.x.PrepareContext(ctx, q.f.rebind(query))
}

func (q sqlq) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return q.x.QueryRowContext(ctx, q.f.rebind(query), args...)
}

// placeholders renders "?, ?, ?" for n values.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
