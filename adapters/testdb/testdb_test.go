package testdb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestPostgresURLIsFreshAndDropped(t *testing.T) {
	var name string
	t.Run("use", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		url := PostgresURL(t)
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		var tables int
		if err := conn.QueryRow(ctx, `SELECT current_database(),
			(SELECT count(*) FROM pg_tables WHERE schemaname = 'public')`).Scan(&name, &tables); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, "tidemark_t_") || tables != 0 {
			t.Fatalf("database %s with %d tables, want a fresh tidemark_t_* one", name, tables)
		}
		if other := PostgresURL(t); other == url {
			t.Fatal("two calls gave the same database")
		}
		// Left open on purpose: the drop must not wait for it.
		if _, err := conn.Exec(ctx, `CREATE TABLE x (id int)`); err != nil {
			t.Fatal(err)
		}
	})
	if name == "" || databaseExists(t, name) {
		t.Fatalf("database %q still exists after its test ended", name)
	}
}

func TestWithDatabase(t *testing.T) {
	cases := map[string]string{
		"postgres://u:p@h:5/postgres?sslmode=disable": "postgres://u:p@h:5/db1?sslmode=disable",
		"postgresql://h/test":                         "postgresql://h/db1",
		"host=h user=u dbname=postgres":               "host=h user=u dbname=postgres dbname=db1",
	}
	for in, want := range cases {
		got, err := withDatabase(in, "db1")
		if err != nil || got != want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestSQLitePath(t *testing.T) {
	p := SQLitePath(t)
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("%s: stat err = %v, want not existing", p, err)
	}
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatalf("directory not writable: %v", err)
	}
	if filepath.Ext(p) != ".db" {
		t.Fatalf("path %s", p)
	}
}

// The fallback when no server answers: a throwaway cluster from the local
// binaries, reachable, and gone after stop.
func TestThrowawayCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster (seconds); skipped with -short")
	}
	if _, err := findBinDir(); err != nil {
		t.Skipf("no local PostgreSQL binaries to start a cluster from: %v", err)
	}
	c, err := startCluster()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if c != nil {
			_ = c.stop()
		}
	}()
	if err := ping(c.url); err != nil {
		t.Fatalf("cluster at %s does not answer: %v", c.url, err)
	}
	if err := adminExec(c.url, "CREATE DATABASE probe"); err != nil {
		t.Fatalf("create database on the cluster: %v", err)
	}
	dir, url := c.dir, c.url
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	c = nil
	if ping(url) == nil {
		t.Fatal("the cluster still answers after stop")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("cluster directory %s left behind", dir)
	}
}
