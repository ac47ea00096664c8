package storetest

import (
	"slices"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// testExpectedVersion: NoStream, exact and Any checks; a wrong version is
// ErrWrongExpectedVersion and writes nothing.
func testExpectedVersion(t *testing.T, open func() domain.EventStore) {
	s := open()
	ctx := ctxT(t)
	a := stream("a")

	r := mustAppend(t, s, req(a, domain.NoStream, evs(2)...))
	if !slices.Equal(r.Versions, []int64{1, 2}) || r.StreamVersion != 2 {
		t.Fatalf("first append: versions %v, stream version %d; want [1 2], 2", r.Versions, r.StreamVersion)
	}
	if slices.Contains(r.Duplicates, true) {
		t.Fatalf("first append reports duplicates: %v", r.Duplicates)
	}

	conflicts := []struct {
		what string
		r    domain.AppendRequest
	}{
		{"NoStream on an existing stream", req(a, domain.NoStream, ev("x"))},
		{"stale version", req(a, 1, ev("x"))},
		{"version ahead of the stream", req(a, 5, ev("x"))},
		{"exact version on a missing stream", req(stream("missing"), 1, ev("x"))},
	}
	for _, c := range conflicts {
		_, err := s.Append(ctx, c.r)
		wantErr(t, err, domain.ErrWrongExpectedVersion, c.what)
	}

	r = mustAppend(t, s, req(a, 2, ev("x")))
	if !slices.Equal(r.Versions, []int64{3}) || r.StreamVersion != 3 {
		t.Fatalf("exact append: versions %v, stream version %d; want [3], 3", r.Versions, r.StreamVersion)
	}
	r = mustAppend(t, s, req(a, domain.AnyVersion, evs(2)...))
	if !slices.Equal(r.Versions, []int64{4, 5}) || r.StreamVersion != 5 {
		t.Fatalf("Any on an existing stream: versions %v, stream version %d; want [4 5], 5", r.Versions, r.StreamVersion)
	}
	b := stream("b")
	r = mustAppend(t, s, req(b, domain.AnyVersion, ev("x")))
	if !slices.Equal(r.Versions, []int64{1}) {
		t.Fatalf("Any on a new stream: versions %v, want [1]", r.Versions)
	}

	if got := versions(mustReadStream(t, s, a, 0, 100)); !slices.Equal(got, []int64{1, 2, 3, 4, 5}) {
		t.Fatalf("stream %s holds versions %v after the conflicts, want [1 2 3 4 5]", a, got)
	}
	if n := len(readAllFrom(t, s, domain.Start, 100)); n != 6 {
		t.Fatalf("log holds %d events, want 6 (failed appends must write nothing)", n)
	}
}
