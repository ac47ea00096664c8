package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tidemark/tidemark/adapters/groupcommit"
	"github.com/tidemark/tidemark/domain"
)

// RunStress has 8 concurrent writers on two store handles (separate pools),
// half of them through group commit, write total events while a reader on a
// third handle follows the log live with ReadAll and WaitForEvents. The
// reader must see every event exactly once in strictly increasing positions,
// and a full ReadAll afterwards must give the same sequence. Under
// testing.Short() at most 2,000 events are written.
func RunStress(t *testing.T, f Factory, total int) {
	if testing.Short() {
		total = min(total, 2000)
	}
	const writers = 8
	open := opener(t, f)
	handles := []domain.EventStore{open(), open()}
	reader := open()
	appenders := []*groupcommit.Appender{groupcommit.New(handles[0], groupcommit.Options{}), groupcommit.New(handles[1], groupcommit.Options{})}
	defer appenders[0].Close()
	defer appenders[1].Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	shared := stream("shared")

	type appendFunc func(context.Context, domain.AppendRequest) (domain.AppendResult, error)
	written := make([][]string, writers) // ids per writer, in the order their appends returned
	errc := make(chan error, writers+1)
	started := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		n := total / writers
		if w < total%writers {
			n++
		}
		var appendTo appendFunc = handles[w%2].Append
		if w < writers/2 {
			appendTo = appenders[w%2].Append
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := stream(fmt.Sprintf("w%d", w))
			var ownVersion int64
			for j := 0; len(written[w]) < n; j++ {
				size := 1
				if j%5 == 4 {
					size = 2
				}
				events := evs(min(size, n-len(written[w])))
				r := req(shared, domain.AnyVersion, events...)
				if j%2 == 0 { // own stream, exact version: must never conflict
					r = req(own, domain.ExpectedVersion(ownVersion), events...)
				}
				res, err := appendTo(ctx, r)
				if err != nil {
					errc <- fmt.Errorf("writer %d, append %d to %s: %w", w, j, r.Stream, err)
					cancel()
					return
				}
				if j%2 == 0 {
					ownVersion = res.StreamVersion
				}
				written[w] = append(written[w], newIDs(events)...)
			}
		}()
	}

	var followed []domain.Event
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		pos := domain.Start
		for len(followed) < total {
			batch, err := reader.ReadAll(ctx, pos, 500)
			if err != nil {
				errc <- fmt.Errorf("reader: read after %v: %w", pos, err)
				return
			}
			if len(batch) == 0 {
				if err := reader.WaitForEvents(ctx, pos); err != nil {
					errc <- fmt.Errorf("reader: wait after %v with %d of %d events seen: %w", pos, len(followed), total, err)
					return
				}
				continue
			}
			for _, e := range batch {
				if !pos.Less(e.Position) {
					errc <- fmt.Errorf("reader: position %v after %v", e.Position, pos)
					return
				}
				pos = e.Position
				followed = append(followed, domain.Event{ID: e.ID, Stream: e.Stream, StreamVersion: e.StreamVersion, Position: e.Position})
			}
		}
	}()
	wg.Wait()
	wrote := time.Since(started)
	<-readerDone
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d events by %d writers in %v (%.0f events/s); reader caught up after %v",
		total, writers, wrote.Round(time.Millisecond), float64(total)/wrote.Seconds(), time.Since(started).Round(time.Millisecond))

	checkFollowed(t, followed, written, total)
	after := readAllFrom(t, reader, domain.Start, 1000)
	if len(after) != len(followed) {
		t.Fatalf("full ReadAll afterwards: %d events, the live reader saw %d", len(after), len(followed))
	}
	for i := range after {
		if after[i].ID != followed[i].ID || after[i].Position != followed[i].Position {
			t.Fatalf("event %d: full ReadAll has %s at %v, the live reader saw %s at %v",
				i, after[i].ID, after[i].Position, followed[i].ID, followed[i].Position)
		}
	}
	checkStreamVersions(t, after)
}

// checkFollowed: every written event seen once, and each writer's events in
// the order its appends returned (a later append commits later).
func checkFollowed(t *testing.T, followed []domain.Event, written [][]string, total int) {
	t.Helper()
	if len(followed) != total {
		t.Fatalf("reader saw %d events, want %d", len(followed), total)
	}
	at := make(map[string]int, total)
	for i, e := range followed {
		if _, dup := at[e.ID]; dup {
			t.Fatalf("reader saw %s twice", e.ID)
		}
		at[e.ID] = i
	}
	for w, list := range written {
		last := -1
		for _, id := range list {
			i, ok := at[id]
			if !ok {
				t.Fatalf("writer %d's event %s was never seen", w, id)
			}
			if i < last {
				t.Fatalf("writer %d's event %s comes before an event it appended earlier", w, id)
			}
			last = i
		}
	}
}

// checkStreamVersions: each stream's versions are 1..n without gaps, in log order.
func checkStreamVersions(t *testing.T, events []domain.Event) {
	t.Helper()
	last := map[string]int64{}
	for _, e := range events {
		if e.StreamVersion != last[e.Stream]+1 {
			t.Fatalf("stream %s: version %d follows %d", e.Stream, e.StreamVersion, last[e.Stream])
		}
		last[e.Stream] = e.StreamVersion
	}
}
