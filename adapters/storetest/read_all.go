package storetest

import (
	"slices"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// testReadAll: the whole log in commit order, from any position, in batches,
// every event once, at the positions the appends reported.
func testReadAll(t *testing.T, open func() domain.EventStore) {
	s := open()
	ctx := ctxT(t)
	if got := readAllFrom(t, s, domain.Start, 10); len(got) != 0 {
		t.Fatalf("empty store: ReadAll returned %d events", len(got))
	}

	var wantIDs []string
	var wantPos []domain.Position
	for i := range 8 {
		batch := evs(1 + i%3)
		r := mustAppend(t, s, req(stream("s"), domain.NoStream, batch...))
		wantIDs = append(wantIDs, newIDs(batch)...)
		wantPos = append(wantPos, r.Positions...)
	}
	reqs := []domain.AppendRequest{
		req(stream("batch"), domain.NoStream, evs(2)...),
		req(stream("batch"), domain.NoStream, evs(1)...),
	}
	results, errs, err := s.AppendBatch(ctx, reqs)
	if err != nil || errs[0] != nil || errs[1] != nil {
		t.Fatalf("append batch: %v %v", err, errs)
	}
	for i, r := range reqs {
		wantIDs = append(wantIDs, newIDs(r.Events)...)
		wantPos = append(wantPos, results[i].Positions...)
	}
	n := len(wantIDs)

	all, err := s.ReadAll(ctx, domain.Start, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(all), wantIDs) {
		t.Fatalf("ReadAll from Start: ids %v, want append order %v", ids(all), wantIDs)
	}
	checkIncreasing(t, all)
	for i, e := range all {
		if e.Position != wantPos[i] {
			t.Fatalf("event %d at %v, but its append reported %v", i, e.Position, wantPos[i])
		}
	}

	for _, size := range []int{1, 3, 4, n} {
		if got := readAllFrom(t, s, domain.Start, size); !slices.Equal(ids(got), wantIDs) {
			t.Fatalf("ReadAll in batches of %d: ids %v, want %v", size, ids(got), wantIDs)
		}
	}
	for _, from := range []int{0, 1, n / 2, n - 2} {
		got := readAllFrom(t, s, all[from].Position, 3)
		if !slices.Equal(ids(got), wantIDs[from+1:]) {
			t.Fatalf("ReadAll after event %d: ids %v, want %v", from, ids(got), wantIDs[from+1:])
		}
	}
	if got := readAllFrom(t, s, all[n-1].Position, 10); len(got) != 0 {
		t.Fatalf("ReadAll after the last event: %d events, want none", len(got))
	}
	// Another handle reads the same log.
	if got := readAllFrom(t, open(), domain.Start, 5); !slices.Equal(ids(got), wantIDs) {
		t.Fatalf("ReadAll on a second handle: ids %v, want %v", ids(got), wantIDs)
	}
}
