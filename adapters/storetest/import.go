package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// testImport: bulk load with given streams, versions and times; stored ids
// are skipped; appends continue from the imported versions.
func testImport(t *testing.T, open func() domain.EventStore) {
	s := open()
	ctx := ctxT(t)
	a, b := stream("a"), stream("b")
	existing := ev("x")
	mustAppend(t, s, req(a, domain.NoStream, existing))

	at := time.Date(2024, 3, 4, 5, 6, 7, 123456000, time.UTC) // microseconds: every store keeps them
	imp := func(str string, v int64, e domain.NewEvent) domain.ImportEvent {
		return domain.ImportEvent{Stream: str, StreamVersion: v, NewEvent: e, RecordedAt: at}
	}
	batch := []domain.ImportEvent{
		imp(a, 1, existing), // already stored: skipped
		imp(a, 2, ev("x")),
		imp(b, 1, ev("x")),
		imp(b, 2, ev("x")),
	}
	n, err := s.Import(ctx, batch)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if n != 3 {
		t.Fatalf("import wrote %d events, want 3", n)
	}
	if n, err := s.Import(ctx, batch); err != nil || n != 0 {
		t.Fatalf("second import of the same events: %d, %v; want 0, nil", n, err)
	}

	got := mustReadStream(t, s, a, 0, 10)
	if !slices.Equal(ids(got), []string{existing.ID, batch[1].ID}) || !slices.Equal(versions(got), []int64{1, 2}) {
		t.Fatalf("stream a: %v versions %v", ids(got), versions(got))
	}
	if !got[1].RecordedAt.Equal(at) || got[0].RecordedAt.Equal(at) {
		t.Fatalf("RecordedAt: imported %v (want %v), appended %v (want its own)", got[1].RecordedAt, at, got[0].RecordedAt)
	}
	if string(got[1].Raw) != string(batch[1].Raw) || got[1].Type != batch[1].Type {
		t.Fatalf("imported event differs: %+v", got[1])
	}
	all := readAllFrom(t, s, domain.Start, 2)
	if len(all) != 4 {
		t.Fatalf("log holds %d events after import, want 4", len(all))
	}
	checkIncreasing(t, all)

	// Appends go on from the imported versions.
	if r := mustAppend(t, s, req(a, 2, ev("x"))); !slices.Equal(r.Versions, []int64{3}) {
		t.Fatalf("append after import: versions %v, want [3]", r.Versions)
	}
	_, err = s.Append(ctx, req(b, domain.NoStream, ev("x")))
	wantErr(t, err, domain.ErrWrongExpectedVersion, "NoStream on an imported stream")

	// An invalid event fails the whole import.
	head := mustHead(t, s)
	_, err = s.Import(ctx, []domain.ImportEvent{imp(b, 3, ev("x")), imp(b, 4, domain.NewEvent{Type: "x", Data: []byte(`{}`)})})
	wantErr(t, err, domain.ErrInvalidEvent, "import with an event without id")
	_, err = s.Import(ctx, []domain.ImportEvent{imp(b, 0, ev("x"))})
	wantErr(t, err, domain.ErrInvalidEvent, "import with version 0")
	_, err = s.Import(ctx, []domain.ImportEvent{imp("", 1, ev("x"))})
	wantErr(t, err, domain.ErrInvalidEvent, "import without a stream")
	if h := mustHead(t, s); h != head {
		t.Fatalf("a failed import moved the head from %v to %v", head, h)
	}
}
