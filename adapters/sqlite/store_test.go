package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tidemark/tidemark/adapters/sqlite"
	"github.com/tidemark/tidemark/adapters/storetest"
	"github.com/tidemark/tidemark/domain"
)

// factory gives each test a fresh SQLite file; every open is a new Store
// (its own writer connection and reader pool) on that file.
func factory(t testing.TB) func() domain.EventStore {
	path := filepath.Join(t.TempDir(), "events.db")
	return func() domain.EventStore {
		t.Helper()
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		return s
	}
}

func TestStore(t *testing.T) { storetest.Run(t, factory) }

func TestStress(t *testing.T) { storetest.RunStress(t, factory, 20_000) }

func BenchmarkStore(b *testing.B) { storetest.RunBenchmarks(b, factory) }
