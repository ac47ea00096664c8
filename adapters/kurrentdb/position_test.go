package kurrentdb

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"

	"github.com/tidemark/tidemark/domain"
)

func TestPositionToCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		in   kurrentdb.Position
		want domain.Position
	}{
		{kurrentdb.Position{Commit: 1, Prepare: 1}, domain.Position{TxID: 1, Seq: 1}},
		{kurrentdb.Position{Commit: 21_574_512, Prepare: 21_574_300}, domain.Position{TxID: 21_574_512, Seq: 21_574_300}},
		{kurrentdb.Position{Commit: math.MaxUint64 - 1, Prepare: math.MaxInt64}, domain.Position{TxID: math.MaxUint64 - 1, Seq: math.MaxInt64}},
	} {
		got, err := toPosition(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("toPosition(%+v) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		// A checkpoint stored as text (Position.String) and read back resumes at the same place.
		parsed, err := domain.ParsePosition(got.String())
		if err != nil {
			t.Fatal(err)
		}
		back, err := fromPosition(parsed)
		if err != nil || back != tc.in {
			t.Errorf("fromPosition(%v) = %+v, %v; want %+v", parsed, back, err, tc.in)
		}
	}
	if _, err := toPosition(kurrentdb.Position{Commit: 1, Prepare: math.MaxInt64 + 1}); !errors.Is(err, domain.ErrInvalidPosition) {
		t.Errorf("prepare beyond int64: %v, want ErrInvalidPosition", err)
	}
	if got, err := fromPosition(domain.Start); err != nil || got != (kurrentdb.Start{}) {
		t.Errorf("fromPosition(Start) = %#v, %v; want the start of $all", got, err)
	}
	if _, err := fromPosition(domain.Position{TxID: 5, Seq: -1}); !errors.Is(err, domain.ErrInvalidPosition) {
		t.Errorf("negative Seq: %v, want ErrInvalidPosition", err)
	}
}

// TestPositionOrder: domain order (Position.Less) is $all order (commit,
// then prepare), including events that share a commit position.
func TestPositionOrder(t *testing.T) {
	all := []kurrentdb.Position{ // in $all order
		{Commit: 100, Prepare: 100},
		{Commit: 250, Prepare: 180}, // one commit, several prepares
		{Commit: 250, Prepare: 210},
		{Commit: 250, Prepare: 250},
		{Commit: 251, Prepare: 251},
		{Commit: 1 << 40, Prepare: 1 << 40},
	}
	var mapped []domain.Position
	for _, p := range all {
		d, err := toPosition(p)
		if err != nil {
			t.Fatal(err)
		}
		mapped = append(mapped, d)
	}
	shuffled := slices.Clone(mapped)
	slices.Reverse(shuffled)
	shuffled[1], shuffled[3] = shuffled[3], shuffled[1]
	slices.SortFunc(shuffled, func(a, b domain.Position) int {
		switch {
		case a.Less(b):
			return -1
		case b.Less(a):
			return 1
		}
		return 0
	})
	if !slices.Equal(shuffled, mapped) {
		t.Fatalf("sorted by Position.Less: %v, $all order: %v", shuffled, mapped)
	}
	if !domain.Start.Less(mapped[0]) {
		t.Fatal("Start does not come before the first event")
	}
}

func TestVersionsAndRevisions(t *testing.T) {
	for rev := range uint64(4) {
		if v := versionOf(rev); v != int64(rev)+1 || revisionOf(v) != rev {
			t.Errorf("revision %d ↔ version %d ↔ revision %d", rev, v, revisionOf(v))
		}
	}
	states := []struct {
		version int64
		want    kurrentdb.StreamState
	}{
		{int64(domain.NoStream), kurrentdb.NoStream{}},
		{1, kurrentdb.Revision(0)},
		{7, kurrentdb.Revision(6)},
	}
	for _, tc := range states {
		if got := expectState(tc.version); got != tc.want {
			t.Errorf("expectState(%d) = %#v, want %#v", tc.version, got, tc.want)
		}
	}
	reads := []struct {
		after int64
		want  kurrentdb.StreamPosition
	}{
		{0, kurrentdb.Start{}},
		{-3, kurrentdb.Start{}},
		{1, kurrentdb.Revision(1)}, // version 2 is revision 1
		{4, kurrentdb.Revision(4)},
	}
	for _, tc := range reads {
		if got := readAfter(tc.after); got != tc.want {
			t.Errorf("readAfter(%d) = %#v, want %#v", tc.after, got, tc.want)
		}
	}
}

func TestHasPosition(t *testing.T) {
	for _, tc := range []struct {
		p    kurrentdb.Position
		want bool
	}{
		{kurrentdb.Position{Commit: 512, Prepare: 512}, true},
		{kurrentdb.Position{}, false},
		{kurrentdb.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64}, false},
		{kurrentdb.Position{Commit: 512, Prepare: math.MaxUint64}, false},
	} {
		if got := hasPosition(tc.p); got != tc.want {
			t.Errorf("hasPosition(%+v) = %v", tc.p, got)
		}
	}
}
