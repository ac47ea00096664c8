package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// QueryDB is a bun handle over a connection pool of its own, for the read
// side: the API's queries then never wait for a connection behind appends
// and projection batches, and it may point at a replica. It applies no
// migrations (a replica is read only).
type QueryDB struct {
	*bun.DB
	pool *pgxpool.Pool
}

// OpenQueryDB connects a QueryDB to url with at most maxConns connections
// (pgxpool's default, or pool_max_conns in the URL, when 0).
func OpenQueryDB(ctx context.Context, url string, maxConns int32) (*QueryDB, error) {
	pool, err := openPool(ctx, url, maxConns)
	if err != nil {
		return nil, fmt.Errorf("query database: %w", err)
	}
	return &QueryDB{DB: bun.NewDB(stdlib.OpenDBFromPool(pool), pgdialect.New()), pool: pool}, nil
}

// Close closes the handle and its pool.
func (q *QueryDB) Close() error {
	err := q.DB.Close()
	q.pool.Close()
	return err
}
