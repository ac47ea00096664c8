package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/tidemark/tidemark/adapters/postgres"
	"github.com/tidemark/tidemark/adapters/storetest"
	"github.com/tidemark/tidemark/adapters/testdb"
	"github.com/tidemark/tidemark/domain"
)

// factory gives each test a fresh database; every call of the returned
// function opens a store with its own pool on it.
func factory(t testing.TB) func() domain.EventStore {
	url := testdb.PostgresURL(t)
	return func() domain.EventStore {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := postgres.Open(ctx, url, postgres.Options{})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, factory)
}

func TestStress(t *testing.T) {
	t.Parallel()
	storetest.RunStress(t, factory, 20000)
}

func BenchmarkStore(b *testing.B) { storetest.RunBenchmarks(b, factory) }
