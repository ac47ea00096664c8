package storetest

import (
	"slices"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// testReadStream: one stream only, oldest first, after a version, up to a limit.
func testReadStream(t *testing.T, open func() domain.EventStore) {
	s := open()
	a, b := stream("a"), stream("b")
	var wantIDs []string
	for i := range 4 {
		batch := evs(1 + i%3) // 1, 2, 3, 1 events: 7 in all
		mustAppend(t, s, req(a, domain.AnyVersion, batch...))
		mustAppend(t, s, req(b, domain.AnyVersion, ev("other")))
		wantIDs = append(wantIDs, newIDs(batch)...)
	}

	all := mustReadStream(t, s, a, 0, 100)
	if !slices.Equal(ids(all), wantIDs) {
		t.Fatalf("read %s: ids %v, want %v", a, ids(all), wantIDs)
	}
	if !slices.Equal(versions(all), []int64{1, 2, 3, 4, 5, 6, 7}) {
		t.Fatalf("read %s: versions %v, want 1..7", a, versions(all))
	}
	checkIncreasing(t, all)
	for _, e := range all {
		if e.Stream != a || e.Type != "test.Event" {
			t.Fatalf("read %s: event in stream %q of type %q", a, e.Stream, e.Type)
		}
	}

	if got := versions(mustReadStream(t, s, a, 4, 2)); !slices.Equal(got, []int64{5, 6}) {
		t.Fatalf("after version 4, limit 2: versions %v, want [5 6]", got)
	}
	if got := versions(mustReadStream(t, s, a, 5, 100)); !slices.Equal(got, []int64{6, 7}) {
		t.Fatalf("after version 5: versions %v, want [6 7]", got)
	}
	if got := mustReadStream(t, s, a, 7, 100); len(got) != 0 {
		t.Fatalf("after the last version: %d events, want none", len(got))
	}
	if got := mustReadStream(t, s, stream("missing"), 0, 100); len(got) != 0 {
		t.Fatalf("missing stream: %d events, want none", len(got))
	}
	if got := mustReadStream(t, s, b, 0, 100); len(got) != 4 {
		t.Fatalf("read %s: %d events, want 4", b, len(got))
	}
}
