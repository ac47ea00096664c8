package postgres

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
)

func TestImport(t *testing.T) {
	t.Parallel()
	s, _ := freshStore(t)
	ctx := ctxT(t)
	// Nothing stored yet: the direct COPY path.
	fresh := []domain.ImportEvent{
		{Stream: "f", StreamVersion: 1, NewEvent: ev(newID(), "t", `{}`)},
		{Stream: "f", StreamVersion: 2, NewEvent: ev(newID(), "t", `{}`)},
	}
	if n, err := s.Import(ctx, fresh); err != nil || n != 2 {
		t.Fatalf("fresh import = %d, %v; want 2", n, err)
	}
	mustAppend(t, s, domain.AppendRequest{Stream: "f", Expected: 2, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}})
	base := len(mustReadAll(t, s, domain.Start))

	// Some already stored: the staging path.
	stored := ev(newID(), "t", `{"kept":true}`)
	mustAppend(t, s, domain.AppendRequest{Stream: "a", Expected: domain.NoStream, Events: []domain.NewEvent{stored}})

	at := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	var in []domain.ImportEvent
	in = append(in, domain.ImportEvent{Stream: "a", StreamVersion: 1, NewEvent: stored, RecordedAt: at}) // already there
	for v := int64(2); v <= 4; v++ {
		in = append(in, domain.ImportEvent{Stream: "a", StreamVersion: v, NewEvent: ev(newID(), "t", fmt.Sprintf(`{"v":%d}`, v)), RecordedAt: at})
	}
	for v := int64(1); v <= 3; v++ {
		in = append(in, domain.ImportEvent{Stream: "b", StreamVersion: v, NewEvent: ev(newID(), "u", `{}`), RecordedAt: at})
	}
	in = append(in, in[1]) // the same event twice in one import
	n, err := s.Import(ctx, in)
	if err != nil || n != 6 {
		t.Fatalf("import = %d, %v; want 6 written", n, err)
	}
	all := mustReadAll(t, s, domain.Start)[base:]
	if len(all) != 7 {
		t.Fatalf("log has %d new events, want 7", len(all))
	}
	for i, e := range all[1:] { // in the order given, after what was there
		want := in[i+1]
		if e.ID != want.ID || e.Stream != want.Stream || e.StreamVersion != want.StreamVersion || !e.RecordedAt.Equal(at) {
			t.Fatalf("event %d = %s %s v%d at %v, want %s %s v%d at %v", i, e.ID, e.Stream, e.StreamVersion, e.RecordedAt,
				want.ID, want.Stream, want.StreamVersion, at)
		}
	}
	if n, err := s.Import(ctx, in); err != nil || n != 0 {
		t.Fatalf("second import = %d, %v; want 0 written", n, err)
	}
	// Stream versions moved forward with the import.
	mustAppend(t, s, domain.AppendRequest{Stream: "a", Expected: 4, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}})
	mustAppend(t, s, domain.AppendRequest{Stream: "b", Expected: 3, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}})

	// A version already taken by another event refuses the whole import.
	clash := []domain.ImportEvent{
		{Stream: "c", StreamVersion: 1, NewEvent: ev(newID(), "t", `{}`)},
		{Stream: "a", StreamVersion: 2, NewEvent: ev(newID(), "t", `{}`)},
	}
	if _, err := s.Import(ctx, clash); !errors.Is(err, domain.ErrWrongExpectedVersion) {
		t.Fatalf("clashing import: err = %v, want ErrWrongExpectedVersion", err)
	}
	if got, _ := s.ReadStream(ctx, "c", 0, 0); len(got) != 0 {
		t.Fatal("a refused import wrote events")
	}
	bad := []domain.ImportEvent{{Stream: "c", StreamVersion: 0, NewEvent: ev(newID(), "t", `{}`)}}
	if _, err := s.Import(ctx, bad); !errors.Is(err, domain.ErrInvalidEvent) {
		t.Fatalf("version 0: err = %v, want ErrInvalidEvent", err)
	}
}
