package storetest

import (
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// testInvalidEvents: no id, no type or no stream is ErrInvalidEvent, from
// Append and per request from AppendBatch, and nothing is written.
func testInvalidEvents(t *testing.T, open func() domain.EventStore) {
	s := open()
	ctx := ctxT(t)
	noID, noType := ev("x"), ev("x")
	noID.ID = ""
	noType.Type = ""
	cases := []struct {
		what string
		r    domain.AppendRequest
	}{
		{"empty id", req(stream("a"), domain.AnyVersion, noID)},
		{"empty type", req(stream("a"), domain.AnyVersion, noType)},
		{"empty stream", req("", domain.AnyVersion, ev("x"))},
	}
	for _, c := range cases {
		_, err := s.Append(ctx, c.r)
		wantErr(t, err, domain.ErrInvalidEvent, "append, "+c.what)
		results, errs, err := s.AppendBatch(ctx, []domain.AppendRequest{c.r, req(stream("ok"), domain.AnyVersion, ev("x"))})
		if err != nil {
			t.Fatalf("batch, %s: batch error %v, want a per-request error", c.what, err)
		}
		wantErr(t, errs[0], domain.ErrInvalidEvent, "batch, "+c.what)
		if errs[1] != nil || len(results[1].Positions) != 1 {
			t.Fatalf("batch, %s: the valid request failed: %v", c.what, errs[1])
		}
	}
	if got := readAllFrom(t, s, domain.Start, 10); len(got) != len(cases) {
		t.Fatalf("log holds %d events, want only the %d valid ones", len(got), len(cases))
	}
}
