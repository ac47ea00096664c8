package postgres

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidemark/tidemark/adapters/groupcommit"
	"github.com/tidemark/tidemark/domain"
)

func TestAppendRoundTripKeepsBytes(t *testing.T) {
	t.Parallel()
	s, _ := freshStore(t)
	data := `{"a":"x<y","b":1.50,"big":1E+400,"n":-0.0,"z":{"y":null}}`
	e := ev(newID(), "carwash.FINISH_WASH", data)
	e.Raw = []byte("{ \"b\" : 1.50 ,\n \"a\":\"x<y\"}")
	noData := domain.NewEvent{ID: newID(), Type: "t.empty"}
	res := mustAppend(t, s, domain.AppendRequest{Stream: "s-1", Expected: domain.NoStream, Events: []domain.NewEvent{e, noData}})
	if res.StreamVersion != 2 || res.Versions[0] != 1 || res.Versions[1] != 2 || res.AllDuplicates() {
		t.Fatalf("result = %+v", res)
	}
	if !res.Positions[0].Less(res.Positions[1]) {
		t.Fatalf("positions not increasing: %v", res.Positions)
	}
	got, err := s.ReadStream(ctxT(t), "s-1", 0, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("read stream: %v %d", err, len(got))
	}
	g := got[0]
	if string(g.Data) != data || !bytes.Equal(g.Raw, e.Raw) || g.ID != e.ID || g.Type != e.Type || g.Stream != "s-1" {
		t.Fatalf("event changed: %+v", g)
	}
	if g.Metadata != e.Metadata || g.Position != res.Positions[0] || g.RecordedAt.Location().String() != "UTC" {
		t.Fatalf("metadata/position/time: %+v vs %+v", g, res)
	}
	if got[1].Data != nil || got[1].Raw != nil {
		t.Fatalf("nil body came back as %q / %q", got[1].Data, got[1].Raw)
	}
}

func TestAppendBatchFailuresStayAlone(t *testing.T) {
	t.Parallel()
	s, _ := freshStore(t)
	ctx := ctxT(t)
	mustAppend(t, s, domain.AppendRequest{Stream: "b", Expected: domain.NoStream, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}})
	shared := newID()
	reqs := []domain.AppendRequest{
		{Stream: "a", Expected: domain.NoStream, Events: []domain.NewEvent{ev(newID(), "t", `{"i":1}`), ev(shared, "t", `{"i":2}`)}},
		{Stream: "b", Expected: domain.NoStream, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}},                    // conflict
		{Stream: "c", Expected: domain.AnyVersion, Events: []domain.NewEvent{ev(newID(), "t", `{"not json`)}},          // the server refuses it
		{Stream: "a", Expected: 2, Events: []domain.NewEvent{ev(shared, "t", `{"i":2}`), ev(newID(), "t", `{"i":3}`)}}, // half a retry
		{Stream: "d", Expected: domain.AnyVersion, Events: []domain.NewEvent{{ID: "not-a-uuid", Type: "t"}}},
		{Stream: "a", Expected: 0, Events: []domain.NewEvent{ev(shared, "t", `{"i":2}`)}}, // pure retry: Expected ignored
	}
	results, errs, err := s.AppendBatch(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || errs[3] != nil || errs[5] != nil {
		t.Fatalf("errs = %v", errs)
	}
	if !errors.Is(errs[1], domain.ErrWrongExpectedVersion) {
		t.Fatalf("errs[1] = %v", errs[1])
	}
	if !errors.Is(errs[2], domain.ErrInvalidEvent) || !errors.Is(errs[4], domain.ErrInvalidEvent) {
		t.Fatalf("errs[2] = %v, errs[4] = %v", errs[2], errs[4])
	}
	if r := results[3]; !r.Duplicates[0] || r.Duplicates[1] || r.Versions[0] != 2 || r.Versions[1] != 3 ||
		r.Positions[0] != results[0].Positions[1] || r.StreamVersion != 3 {
		t.Fatalf("results[3] = %+v, first = %+v", r, results[0])
	}
	if r := results[5]; !r.AllDuplicates() || r.Versions[0] != 2 || r.StreamVersion != 3 {
		t.Fatalf("results[5] = %+v", r)
	}
	all := mustReadAll(t, s, domain.Start)
	if len(all) != 4 { // b:1, a:1..3
		t.Fatalf("stored %d events, want 4", len(all))
	}
	for _, st := range []string{"c", "d"} {
		if got, _ := s.ReadStream(ctx, st, 0, 0); len(got) != 0 {
			t.Fatalf("failed request wrote %d events to %s", len(got), st)
		}
	}
	// The stream table agrees with the log: the next append expects 3.
	mustAppend(t, s, domain.AppendRequest{Stream: "a", Expected: 3, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}})
}

// A request the store refuses for good (a stream name over the btree row
// limit) fails alone under group commit: its batch-mates are stored, and
// it is ErrInvalidEvent (a 422 to the platform), not ErrUnavailable.
func TestGroupCommitIsolatesARefusedRequest(t *testing.T) {
	t.Parallel()
	s, _ := freshStore(t)
	gc := groupcommit.New(s, groupcommit.Options{MaxBatch: 64, MaxWait: 50 * time.Millisecond})
	defer gc.Close()
	// Random letters: a repetitive name would compress under the limit.
	rnd := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for range 4000 {
		b.WriteByte(byte('a' + rnd.IntN(26)))
	}
	long := "energy.order-" + b.String()
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		stream := fmt.Sprintf("ok-%d", i)
		if i == 7 {
			stream = long
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = gc.Append(ctxT(t), domain.AppendRequest{Stream: stream, Expected: domain.AnyVersion,
				Events: []domain.NewEvent{ev(newID(), "t.x", `{}`)}})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i == 7 {
			if !errors.Is(err, domain.ErrInvalidEvent) || errors.Is(err, domain.ErrUnavailable) {
				t.Errorf("the long stream: err = %v, want ErrInvalidEvent", err)
			}
		} else if err != nil {
			t.Errorf("request %d failed with its batch-mate: %v", i, err)
		}
	}
	all, err := s.ReadAll(ctxT(t), domain.Start, 0)
	if err != nil || len(all) != 19 {
		t.Fatalf("stored %d events (%v), want 19", len(all), err)
	}
	// The pool's connections still work after the refused statement.
	mustAppend(t, s, domain.AppendRequest{Stream: "after", Expected: domain.NoStream, Events: []domain.NewEvent{ev(newID(), "t.x", `{}`)}})
}
