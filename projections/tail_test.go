package projections

import (
	"context"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// countingStore counts the ReadAll calls that reach the real store.
type countingStore struct {
	domain.EventStore
	reads atomic.Int64
}

func (c *countingStore) ReadAll(ctx context.Context, after domain.Position, limit int) ([]domain.Event, error) {
	c.reads.Add(1)
	return c.EventStore.ReadAll(ctx, after, limit)
}

// Readers at any position, with any limit, in any interleaving, get from
// the tail exactly what the store's ReadAll gives (without raw bodies),
// and readers following one another read the store about once between them.
func TestLogTailAnswersAsTheStore(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := ctxFor(t, time.Minute)
		deliver(t, ctx, e.store, newScenario(7, 8, 5).deliveries(600, 0.2))
		all, err := e.store.ReadAll(ctx, domain.Start, 10_000)
		if err != nil || len(all) < 500 {
			t.Fatalf("log: %d events, %v", len(all), err)
		}
		want := func(after domain.Position, limit int) []domain.Event {
			got, err := e.store.ReadAll(ctx, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i].Raw = nil
			}
			return got
		}
		counted := &countingStore{EventStore: e.store}
		tail := newLogTail(counted, 50)
		rng := rand.New(rand.NewPCG(1, 2))
		for range 300 {
			after := domain.Start
			if k := rng.IntN(len(all) + 1); k > 0 {
				after = all[k-1].Position
			}
			limit := 1 + rng.IntN(80)
			got, err := tail.ReadAll(ctx, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			if w := want(after, limit); !reflect.DeepEqual(got, w) {
				t.Fatalf("ReadAll(%s, %d) from the tail: %d events, the store gives %d", after, limit, len(got), len(w))
			}
		}

		// Three followers woken together, as the live projections are: each
		// round the store is read once between them, not three times.
		tail = newLogTail(counted, 50)
		counted.reads.Store(0)
		pos, n, rounds := domain.Start, 0, int64(0)
		for n < len(all) && ctx.Err() == nil {
			rounds++
			var got [3][]domain.Event
			var wg sync.WaitGroup
			for f := range 3 {
				wg.Go(func() {
					var err error
					if got[f], err = tail.ReadAll(ctx, pos, 40); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			for f := range 3 {
				if !reflect.DeepEqual(got[f], got[0]) {
					t.Fatalf("round %d: follower %d got %d events, follower 0 %d", rounds, f, len(got[f]), len(got[0]))
				}
			}
			if len(got[0]) == 0 {
				// Short of the end: on PostgreSQL a transaction open elsewhere
				// on the server holds the read gate back for a moment.
				_ = e.store.WaitForEvents(ctx, pos)
				continue
			}
			for _, ev := range got[0] {
				if ev.Position != all[n].Position || ev.ID != all[n].ID {
					t.Fatalf("event %d is %s, want %s", n, ev.ID, all[n].ID)
				}
				n++
			}
			pos = got[0][len(got[0])-1].Position
		}
		if reads := counted.reads.Load(); reads > rounds {
			t.Errorf("three followers read the store %d times in %d rounds; want at most once a round", reads, rounds)
		}
	})
}
