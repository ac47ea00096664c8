package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// testAppendBatch: one outcome per request; a failing request fails alone;
// later requests see earlier ones of the same batch.
func testAppendBatch(t *testing.T, open func() domain.EventStore) {
	s := open()
	ctx := ctxT(t)
	a, b, c, d := stream("a"), stream("b"), stream("c"), stream("d")
	mustAppend(t, s, req(c, domain.NoStream, ev("x")))

	shared := ev("x") // the same callback twice in one batch, as concurrent retries are
	reqs := []domain.AppendRequest{
		req(a, domain.NoStream, evs(1)...),   // 0 ok
		req(b, domain.NoStream, evs(2)...),   // 1 ok
		req(a, domain.NoStream, evs(1)...),   // 2 conflict: request 0 created a
		req(c, 7, evs(1)...),                 // 3 conflict: c is at 1
		req("", domain.AnyVersion, ev("x")),  // 4 invalid
		req(a, 1, evs(2)...),                 // 5 ok: sees request 0
		req(d, domain.AnyVersion, shared),    // 6 ok
		req(d, domain.NoStream, shared),      // 7 ok: duplicate of 6
		req(c, 1, ev("x"), ev("")),           // 8 invalid
		req(c, domain.AnyVersion, evs(1)...), // 9 ok: 3 and 8 wrote nothing
	}
	results, errs, err := s.AppendBatch(ctx, reqs)
	if err != nil {
		t.Fatalf("append batch: %v", err)
	}
	if len(results) != len(reqs) || len(errs) != len(reqs) {
		t.Fatalf("append batch: %d results, %d errors for %d requests", len(results), len(errs), len(reqs))
	}
	for i, want := range []error{nil, nil, domain.ErrWrongExpectedVersion, domain.ErrWrongExpectedVersion,
		domain.ErrInvalidEvent, nil, nil, nil, domain.ErrInvalidEvent, nil} {
		if want == nil && errs[i] != nil {
			t.Fatalf("request %d: unexpected error %v", i, errs[i])
		}
		if want != nil {
			wantErr(t, errs[i], want, fmt.Sprintf("request %d", i))
		}
	}
	wantVersions := map[int][]int64{0: {1}, 1: {1, 2}, 5: {2, 3}, 6: {1}, 7: {1}, 9: {2}}
	for i, v := range wantVersions {
		if !slices.Equal(results[i].Versions, v) {
			t.Fatalf("request %d: versions %v, want %v", i, results[i].Versions, v)
		}
	}
	if results[6].Duplicates[0] || !results[7].Duplicates[0] || results[6].Positions[0] != results[7].Positions[0] {
		t.Fatalf("same event twice in a batch: %+v and %+v; want one write, then a duplicate at the same position",
			results[6], results[7])
	}
	var okPositions []domain.Position
	for _, i := range []int{0, 1, 5, 6, 9} {
		okPositions = append(okPositions, results[i].Positions...)
	}
	for i := 1; i < len(okPositions); i++ {
		if !okPositions[i-1].Less(okPositions[i]) {
			t.Fatalf("batch positions not increasing in request order: %v", okPositions)
		}
	}

	var wantIDs []string
	for _, i := range []int{0, 1, 5, 6, 9} {
		wantIDs = append(wantIDs, newIDs(reqs[i].Events)...)
	}
	all := readAllFrom(t, s, domain.Start, 100)[1:] // after c's first event
	if !slices.Equal(ids(all), wantIDs) {
		t.Fatalf("log after the batch: %v, want %v", ids(all), wantIDs)
	}
	if got := versions(mustReadStream(t, s, c, 0, 10)); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("stream c: versions %v, want [1 2]", got)
	}

	// A batch of only failing requests writes nothing and is no batch error.
	head := mustHead(t, s)
	_, errs, err = s.AppendBatch(ctx, []domain.AppendRequest{req(a, domain.NoStream, ev("x")), req(b, 9, ev("x"))})
	if err != nil {
		t.Fatalf("all-failing batch: %v", err)
	}
	wantErr(t, errs[0], domain.ErrWrongExpectedVersion, "all-failing batch, request 0")
	wantErr(t, errs[1], domain.ErrWrongExpectedVersion, "all-failing batch, request 1")
	if h := mustHead(t, s); h != head {
		t.Fatalf("head moved from %v to %v after a batch that failed", head, h)
	}
}
