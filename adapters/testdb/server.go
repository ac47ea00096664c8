package testdb

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable that points tests at a PostgreSQL server. Its
// user must be allowed to create databases.
const EnvURL = "TIDEMARK_TEST_DATABASE_URL"

// LocalURL is tried when EnvURL is unset.
const LocalURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error

	clusterMu sync.Mutex
	running   *cluster // the throwaway cluster, if one was started
)

// ServerURL returns the admin URL of the PostgreSQL server tests use,
// finding or starting one on first use.
func ServerURL(t testing.TB) string {
	t.Helper()
	serverOnce.Do(func() { serverURL, serverErr = findServer() })
	if serverErr != nil {
		t.Fatalf("testdb: no PostgreSQL for tests: %v\n"+
			"Set %s=postgres://user@host:port/db, run a server on 127.0.0.1:5432 (user postgres, trust), "+
			"or install the PostgreSQL server binaries (apt-get install postgresql).", serverErr, EnvURL)
	}
	return serverURL
}

// Main runs the tests and then stops the throwaway cluster, if one was
// started, and removes its directory. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	clusterMu.Lock()
	if running != nil {
		if err := running.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testdb: stop cluster: %v\n", err)
		}
		running = nil
	}
	clusterMu.Unlock()
	os.Exit(code)
}

func findServer() (string, error) {
	if u := os.Getenv(EnvURL); u != "" {
		if err := ping(u); err != nil {
			return "", fmt.Errorf("%s does not answer: %w", EnvURL, err)
		}
		return u, nil
	}
	localErr := ping(LocalURL)
	if localErr == nil {
		return LocalURL, nil
	}
	c, err := startCluster()
	if err != nil {
		return "", fmt.Errorf("%s does not answer (%v) and no throwaway cluster could be started: %w", LocalURL, localErr, err) //nolint:errorlint // the cause is the cluster's error
	}
	clusterMu.Lock()
	running = c
	clusterMu.Unlock()
	return c.url, nil
}

func ping(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}
