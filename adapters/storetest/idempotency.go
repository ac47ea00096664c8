package storetest

import (
	"slices"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// testIdempotency: re-appending stored ids writes nothing, reports the
// original positions and versions, and succeeds even with a stale Expected.
func testIdempotency(t *testing.T, open func() domain.EventStore) {
	s := open()
	ctx := ctxT(t)
	a := stream("a")
	batch := evs(2)
	first := mustAppend(t, s, req(a, domain.NoStream, batch...))

	checkRetry := func(what string, r domain.AppendResult, wantStreamVersion int64) {
		t.Helper()
		if !r.AllDuplicates() || !slices.Equal(r.Duplicates, []bool{true, true}) {
			t.Fatalf("%s: duplicates %v, want all true", what, r.Duplicates)
		}
		if !slices.Equal(r.Positions, first.Positions) || !slices.Equal(r.Versions, first.Versions) {
			t.Fatalf("%s: positions %v versions %v, want the originals %v %v",
				what, r.Positions, r.Versions, first.Positions, first.Versions)
		}
		if r.StreamVersion != wantStreamVersion {
			t.Fatalf("%s: stream version %d, want %d", what, r.StreamVersion, wantStreamVersion)
		}
	}
	checkRetry("retry", mustAppend(t, s, req(a, domain.NoStream, batch...)), 2)

	// The stream moves on; a late retry with its original (now stale) Expected still succeeds.
	third := ev("x")
	mustAppend(t, s, req(a, 2, third))
	checkRetry("late retry", mustAppend(t, s, req(a, domain.NoStream, batch...)), 3)
	checkRetry("late retry with an exact version", mustAppend(t, s, req(a, 7, batch...)), 3)

	// Part duplicate: the version check applies, the stored event keeps its place.
	fourth := ev("x")
	_, err := s.Append(ctx, req(a, 1, third, fourth))
	wantErr(t, err, domain.ErrWrongExpectedVersion, "partial duplicate with a stale version")
	r := mustAppend(t, s, req(a, 3, third, fourth))
	if !slices.Equal(r.Duplicates, []bool{true, false}) || !slices.Equal(r.Versions, []int64{3, 4}) || r.StreamVersion != 4 {
		t.Fatalf("partial duplicate: duplicates %v versions %v stream version %d; want [true false] [3 4] 4",
			r.Duplicates, r.Versions, r.StreamVersion)
	}

	stored := mustReadStream(t, s, a, 0, 100)
	want := append(newIDs(batch), third.ID, fourth.ID)
	if !slices.Equal(ids(stored), want) {
		t.Fatalf("stream holds %v, want %v (no duplicate rows)", ids(stored), want)
	}
	if all := readAllFrom(t, s, domain.Start, 100); len(all) != 4 {
		t.Fatalf("log holds %d events, want 4", len(all))
	}
	if stored[0].Position != first.Positions[0] || stored[1].Position != first.Positions[1] {
		t.Fatalf("stored positions %v %v differ from the append result %v", stored[0].Position, stored[1].Position, first.Positions)
	}
}
