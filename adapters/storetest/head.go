package storetest

import (
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// testHead: Start on an empty log, then the position of the last event,
// seen alike from every handle; a duplicate-only append does not move it.
func testHead(t *testing.T, open func() domain.EventStore) {
	s, other := open(), open()
	if h := mustHead(t, s); !h.IsZero() {
		t.Fatalf("head of an empty log = %v, want Start", h)
	}
	a := stream("a")
	batch := evs(3)
	r := mustAppend(t, s, req(a, domain.NoStream, batch...))
	last := r.Positions[2]
	for _, st := range []domain.EventStore{s, other} {
		if h := mustHead(t, st); h != last {
			t.Fatalf("head = %v, want the last appended position %v", h, last)
		}
	}
	mustAppend(t, s, req(a, domain.NoStream, batch...)) // all duplicates
	if h := mustHead(t, other); h != last {
		t.Fatalf("head after a duplicate-only append = %v, want %v", h, last)
	}
	r = mustAppend(t, other, req(stream("b"), domain.NoStream, ev("x")))
	if h := mustHead(t, s); h != r.Positions[0] || !last.Less(h) {
		t.Fatalf("head after an append on another handle = %v, want %v", h, r.Positions[0])
	}
	if got := readAllFrom(t, s, domain.Start, 10); got[len(got)-1].Position != mustHead(t, s) {
		t.Fatalf("head %v is not the last event ReadAll returns (%v)", mustHead(t, s), got[len(got)-1].Position)
	}
}
