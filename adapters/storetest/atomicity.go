package storetest

import (
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// testAtomicity: a request that fails writes none of its events.
func testAtomicity(t *testing.T, open func() domain.EventStore) {
	s := open()
	ctx := ctxT(t)
	a := stream("a")

	bad := evs(3)
	bad[2].Type = "" // the last event is invalid: the first two must not be written either
	_, err := s.Append(ctx, req(a, domain.NoStream, bad...))
	wantErr(t, err, domain.ErrInvalidEvent, "request with an invalid last event")
	if head := mustHead(t, s); !head.IsZero() {
		t.Fatalf("head after a failed append = %v, want Start", head)
	}

	mustAppend(t, s, req(a, domain.NoStream, ev("x")))
	conflicting := evs(3)
	_, err = s.Append(ctx, req(a, domain.NoStream, conflicting...))
	wantErr(t, err, domain.ErrWrongExpectedVersion, "conflicting multi-event request")

	// None of the failed events is stored: appending them now writes them fresh.
	r := mustAppend(t, s, req(a, 1, append(bad[:2], conflicting...)...))
	for i, d := range r.Duplicates {
		if d {
			t.Fatalf("event %d of a failed request was stored", i)
		}
	}
	if got := mustReadStream(t, s, a, 0, 100); len(got) != 6 {
		t.Fatalf("stream holds %d events, want 6", len(got))
	}
}
