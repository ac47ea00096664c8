package migrations_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver
	_ "modernc.org/sqlite"             // "sqlite" driver

	"github.com/tidemark/tidemark/adapters/testdb"
	"github.com/tidemark/tidemark/migrations"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// Both dialects have the same numbered migrations, applying is idempotent,
// and Pending says when nothing is left.
func TestApplyIsIdempotentOnBothDialects(t *testing.T) {
	pg, err := migrations.List(migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := migrations.List(migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) != len(lite) {
		t.Fatalf("%d PostgreSQL migrations, %d SQLite ones", len(pg), len(lite))
	}
	for i := range pg {
		if pg[i].Version != lite[i].Version {
			t.Fatalf("migration %d: PostgreSQL %s, SQLite %s", i, pg[i].Name, lite[i].Name)
		}
	}
	for _, c := range []struct{ dialect, driver, dsn string }{
		{migrations.SQLite, "sqlite", filepath.Join(t.TempDir(), "m.db")},
		{migrations.Postgres, "pgx", testdb.PostgresURL(t)},
	} {
		db, err := sql.Open(c.driver, c.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ctx := context.Background()
		if n, _ := migrations.Pending(ctx, db, c.dialect); n == 0 {
			t.Errorf("%s: nothing pending on an empty database", c.dialect)
		}
		for i := 0; i < 2; i++ {
			if err := migrations.Apply(ctx, db, c.dialect); err != nil {
				t.Fatalf("%s: apply #%d: %v", c.dialect, i+1, err)
			}
		}
		if n, err := migrations.Pending(ctx, db, c.dialect); err != nil || n != 0 {
			t.Fatalf("%s: %d pending after apply (%v)", c.dialect, n, err)
		}
		if c.dialect == migrations.Postgres {
			assertStreamsBytewise(t, db)
		}
	}
}

// Stream names compare byte by byte on PostgreSQL, whatever the database's
// locale: the log's indexes and Go's sort.Strings agree.
func assertStreamsBytewise(t *testing.T, db *sql.DB) {
	t.Helper()
	rows, err := db.Query(`SELECT table_name, coalesce(collation_name, '') FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name = 'stream' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var table, coll string
		if err := rows.Scan(&table, &coll); err != nil {
			t.Fatal(err)
		}
		got[table] = coll
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"events", "streams"} {
		if got[table] != "C" {
			t.Errorf("%s.stream collation %q, want C", table, got[table])
		}
	}
}
