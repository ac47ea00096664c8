package kurrentdb

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/tidemark/tidemark/domain"
)

func ids(n int) []uuid.UUID {
	out := make([]uuid.UUID, n)
	for i := range out {
		out[i] = uuid.New()
	}
	return out
}

// tailWith is a stream at version v holding the given ids at versions 1..
func tailWith(v int64, held ...uuid.UUID) *tail {
	t := &tail{version: v, found: map[uuid.UUID]stored{}}
	for i, id := range held {
		t.found[id] = storedAt(int64(i + 1))
	}
	return t
}

func storedAt(v int64) stored {
	return stored{version: v, pos: domain.Position{TxID: uint64(v * 100), Seq: v * 100}}
}

func TestPlan(t *testing.T) {
	old := ids(3)
	fresh := ids(2)
	cases := []struct {
		what     string
		expected domain.ExpectedVersion
		ids      []uuid.UUID
		tail     *tail
		want     decision
	}{
		{"new stream, NoStream", domain.NoStream, fresh, tailWith(0), decision{expect: 0, fresh: []int{0, 1}}},
		{"new stream, Any", domain.AnyVersion, fresh, tailWith(0), decision{expect: 0, fresh: []int{0, 1}}},
		{"exact version", 3, fresh, tailWith(3, old...), decision{expect: 3, fresh: []int{0, 1}}},
		{"Any on an existing stream: expects the version read", domain.AnyVersion, fresh, tailWith(3, old...), decision{expect: 3, fresh: []int{0, 1}}},
		{"NoStream on an existing stream", domain.NoStream, fresh, tailWith(3, old...), decision{conflict: true}},
		{"stale version", 2, fresh, tailWith(3, old...), decision{conflict: true}},
		{"version ahead", 5, fresh, tailWith(3, old...), decision{conflict: true}},
		{"exact version on a missing stream", 1, fresh, tailWith(0), decision{conflict: true}},
		{"retry: all stored, original Expected", domain.NoStream, old[:2], tailWith(3, old...), decision{dup: true}},
		{"late retry: all stored, stale exact version", 7, old, tailWith(3, old...), decision{dup: true}},
		{"retry with Any", domain.AnyVersion, old[1:], tailWith(3, old...), decision{dup: true}},
		{"no events", 9, nil, tailWith(3, old...), decision{dup: true}},
		{"part stored, right version: only the new ones", 3, []uuid.UUID{old[2], fresh[0]}, tailWith(3, old...), decision{expect: 3, fresh: []int{1}}},
		{"part stored, stale version: the check applies", 1, []uuid.UUID{old[2], fresh[0]}, tailWith(3, old...), decision{conflict: true}},
	}
	for _, c := range cases {
		got := plan(c.expected, c.ids, c.tail)
		if got.dup != c.want.dup || got.conflict != c.want.conflict || got.expect != c.want.expect || !slices.Equal(got.fresh, c.want.fresh) {
			t.Errorf("%s: %+v, want %+v", c.what, got, c.want)
		}
	}
}

// TestBatchSeesItsOwnWrites: after record, later requests of the same batch
// find the written ids (duplicates, positions pending) and expect the new version.
func TestBatchSeesItsOwnWrites(t *testing.T) {
	tl := tailWith(1, ids(1)...)
	first := &request{ids: ids(2)}
	d := plan(domain.AnyVersion, first.ids, tl)
	w := &write{first: d.expect + 1, ids: first.ids}
	out := first.outcome(d, tl, w)
	tl.record(d, first.ids, w)
	if tl.version != 3 {
		t.Fatalf("version after the write: %d, want 3", tl.version)
	}

	again := &request{ids: []uuid.UUID{first.ids[1]}}
	d2 := plan(domain.NoStream, again.ids, tl)
	if !d2.dup {
		t.Fatalf("an id written earlier in the batch is not a duplicate: %+v", d2)
	}
	dupOut := again.outcome(d2, tl, nil)

	next := &request{ids: ids(1)}
	if d3 := plan(3, next.ids, tl); d3.conflict || d3.expect != 3 {
		t.Fatalf("a later exact append does not see the earlier one: %+v", d3)
	}
	if d4 := plan(1, next.ids, tl); !d4.conflict {
		t.Fatalf("a later append with the old version does not conflict: %+v", d4)
	}

	// The read-back fills in the positions of both outcomes.
	w.pos = []domain.Position{{TxID: 700, Seq: 700}, {TxID: 800, Seq: 800}}
	res, err := out.result()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Versions, []int64{2, 3}) || !slices.Equal(res.Positions, w.pos) ||
		!slices.Equal(res.Duplicates, []bool{false, false}) || res.StreamVersion != 3 {
		t.Fatalf("writer's result %+v", res)
	}
	res, err = dupOut.result()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Versions, []int64{3}) || res.Positions[0] != w.pos[1] || !res.Duplicates[0] || res.StreamVersion != 3 {
		t.Fatalf("duplicate's result %+v", res)
	}

	// A failed read-back fails both.
	w.err = errors.New("read back failed")
	if _, err := out.result(); !errors.Is(err, w.err) {
		t.Fatalf("writer: %v", err)
	}
	if _, err := dupOut.result(); !errors.Is(err, w.err) {
		t.Fatalf("duplicate: %v", err)
	}
}

// TestOutcomeMixesStoredAndNew: a partial duplicate reports the stored
// event where it is and the new one after the stream's version.
func TestOutcomeMixesStoredAndNew(t *testing.T) {
	old := ids(3)
	tl := tailWith(3, old...)
	r := &request{ids: []uuid.UUID{old[2], uuid.New()}}
	d := plan(3, r.ids, tl)
	w := &write{first: 4, ids: r.ids[1:], pos: []domain.Position{{TxID: 900, Seq: 900}}}
	res, err := r.outcome(d, tl, w).result()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Duplicates, []bool{true, false}) || !slices.Equal(res.Versions, []int64{3, 4}) ||
		res.Positions[0] != storedAt(3).pos || res.Positions[1] != w.pos[0] || res.StreamVersion != 4 {
		t.Fatalf("partial duplicate: %+v", res)
	}
	// All stored: the stream's version is reported as it is.
	retry := &request{ids: old[:2]}
	res, err = retry.outcome(plan(domain.NoStream, retry.ids, tl), tl, nil).result()
	if err != nil {
		t.Fatal(err)
	}
	if res.StreamVersion != 3 || !slices.Equal(res.Versions, []int64{1, 2}) || !res.AllDuplicates() ||
		res.Positions[1] != storedAt(2).pos {
		t.Fatalf("all stored: %+v", res)
	}
}
