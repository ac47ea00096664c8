package postgres

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// The same callback arriving at two instances at once is stored once; both
// get its one position. Run for the same stream (the stream lock orders
// them) and for different streams (the id's unique index does, and the
// loser retries its request in a savepoint).
func TestConcurrentDuplicatesAcrossInstances(t *testing.T) {
	t.Parallel()
	s1, url := freshStore(t)
	s2 := openStore(t, url, Options{})
	for round := 0; round < 40; round++ {
		id := newID()
		streams := [2]string{fmt.Sprintf("same-%d", round), fmt.Sprintf("same-%d", round)}
		if round%2 == 1 {
			streams[1] = fmt.Sprintf("other-%d", round)
		}
		var wg sync.WaitGroup
		var res [2]domain.AppendResult
		var errs [2]error
		for i, s := range []*Store{s1, s2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i], errs[i] = s.Append(ctxT(t), domain.AppendRequest{Stream: streams[i], Expected: domain.NoStream,
					Events: []domain.NewEvent{ev(id, "t", `{}`)}})
			}()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: %v / %v", round, errs[0], errs[1])
		}
		if res[0].Duplicates[0] == res[1].Duplicates[0] || res[0].Positions[0] != res[1].Positions[0] {
			t.Fatalf("round %d: %+v / %+v, want one write and one duplicate at the same position", round, res[0], res[1])
		}
	}
	if n := len(mustReadAll(t, s1, domain.Start)); n != 40 {
		t.Fatalf("stored %d events, want 40", n)
	}
}

// Batches from several instances over overlapping streams neither deadlock
// nor break the versions: each stream ends up 1..n without holes.
func TestConcurrentBatchesKeepStreamsDense(t *testing.T) {
	t.Parallel()
	s1, url := freshStore(t)
	stores := []*Store{s1, openStore(t, url, Options{}), openStore(t, url, Options{})}
	const writers, batches = 6, 30
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			s := stores[w%len(stores)]
			for b := 0; b < batches; b++ {
				var reqs []domain.AppendRequest
				for k := 0; k < 1+r.IntN(4); k++ {
					reqs = append(reqs, domain.AppendRequest{Stream: fmt.Sprintf("s%d", r.IntN(5)), Expected: domain.AnyVersion,
						Events: []domain.NewEvent{ev(newID(), "t", `{}`), ev(newID(), "t", `{}`)}})
				}
				_, errs, err := s.AppendBatch(ctxT(t), reqs)
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				for _, e := range errs {
					if e != nil {
						t.Errorf("writer %d: %v", w, e)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	all := mustReadAll(t, s1, domain.Start)
	next := map[string]int64{}
	for i, e := range all {
		if i > 0 && !all[i-1].Position.Less(e.Position) {
			t.Fatalf("log out of order at %d", i)
		}
		next[e.Stream]++
		if e.StreamVersion != next[e.Stream] {
			t.Fatalf("%s: version %d in log order, want %d", e.Stream, e.StreamVersion, next[e.Stream])
		}
	}
}
