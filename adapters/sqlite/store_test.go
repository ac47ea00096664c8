package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidemark/tidemark/adapters/sqlite"
	"github.com/tidemark/tidemark/adapters/storetest"
	"github.com/tidemark/tidemark/domain"
)

// factory gives each test a fresh SQLite file; every open is a new Store
// (its own writer connection and reader pool) on that file.
func factory(t testing.TB) func() domain.EventStore { return factoryWith(sqlite.Options{})(t) }

func factoryWith(opts sqlite.Options) func(t testing.TB) func() domain.EventStore {
	return func(t testing.TB) func() domain.EventStore {
		path := filepath.Join(t.TempDir(), "events.db")
		return func() domain.EventStore {
			t.Helper()
			s, err := sqlite.Open(context.Background(), path, opts)
			if err != nil {
				t.Fatalf("open %s: %v", path, err)
			}
			return s
		}
	}
}

func TestStore(t *testing.T) { storetest.Run(t, factory) }

// TestStress gives its two writing handles a long busy timeout. SQLite's
// write lock is not fair between handles: while one handle's writers keep
// it busy the other's retries can all miss, and on a loaded machine (the
// whole suite plus a compiler on 2 cores) that once outlasted the default
// 10 s. That is a limit of SQLite's busy handler, not what this test checks.
func TestStress(t *testing.T) {
	storetest.RunStress(t, factoryWith(sqlite.Options{BusyTimeout: time.Minute}), 20_000)
}

func BenchmarkStore(b *testing.B) { storetest.RunBenchmarks(b, factory) }
