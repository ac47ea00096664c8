package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// testScanAll checks domain.LogScanner, for stores that have it: log order
// with and without a type prefix, bounds, batch sizes, stream-by-stream
// order, and lean events that otherwise equal what ReadAll returns.
func testScanAll(t *testing.T, open func() domain.EventStore) {
	s := open()
	sc, ok := s.(domain.LogScanner)
	if !ok {
		t.Skipf("%T has no ScanAll", s)
	}
	ctx := ctxT(t)
	a, b, c := stream("scan.a"), stream("scan.b"), stream("other")
	// Interleaved appends: in log order the streams alternate.
	for i := range 4 {
		for _, st := range []string{b, a, c} {
			typ := "test.Scan"
			if st == c {
				typ = "other.Event"
			}
			es := []domain.NewEvent{ev(typ)}
			if i == 2 {
				es = append(es, ev(typ)) // two events in one request
			}
			mustAppend(t, s, req(st, domain.AnyVersion, es...))
		}
	}
	all := readAllFrom(t, s, domain.Start, 100)
	head := mustHead(t, s)
	scan := func(q domain.Scan) []domain.Event {
		t.Helper()
		var got []domain.Event
		err := sc.ScanAll(ctx, q, func(batch []domain.Event) error {
			if len(batch) == 0 || (q.Batch > 0 && len(batch) > q.Batch) {
				t.Fatalf("batch of %d events (asked for at most %d)", len(batch), q.Batch)
			}
			got = append(got, batch...)
			return nil
		})
		if err != nil {
			t.Fatalf("ScanAll(%+v): %v", q, err)
		}
		return got
	}
	lean := func(es []domain.Event) []domain.Event {
		out := slices.Clone(es)
		for i := range out {
			out[i].Raw = nil
			out[i].Metadata = domain.Metadata{Source: out[i].Metadata.Source, ReceivedAt: out[i].Metadata.ReceivedAt}
		}
		return out
	}
	filter := func(es []domain.Event, keep func(domain.Event) bool) []domain.Event {
		var out []domain.Event
		for _, e := range es {
			if keep(e) {
				out = append(out, e)
			}
		}
		return out
	}
	same := func(what string, got, want []domain.Event) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.ID != w.ID || g.Stream != w.Stream || g.StreamVersion != w.StreamVersion || g.Type != w.Type ||
				string(g.Data) != string(w.Data) || g.Raw != nil || g.Metadata != w.Metadata ||
				!g.RecordedAt.Equal(w.RecordedAt) || g.Position != w.Position {
				t.Fatalf("%s: event %d\n got %+v\nwant %+v", what, i, g, w)
			}
		}
	}

	for _, size := range []int{0, 1, 4, 1000} {
		same("log order", scan(domain.Scan{Through: head, Batch: size}), lean(all))
	}
	same("after, through", scan(domain.Scan{After: all[2].Position, Through: all[9].Position}), lean(all[3:10]))
	same("type prefix", scan(domain.Scan{Through: head, Batch: 3, TypePrefix: "test."}),
		lean(filter(all, func(e domain.Event) bool { return strings.HasPrefix(e.Type, "test.") })))
	same("through Start", scan(domain.Scan{Through: domain.Start}), nil)

	// By stream: the streams with the prefix, each in version order.
	prefix := "test.scan."
	got := scan(domain.Scan{Through: head, Batch: 2, ByStream: true, StreamPrefix: prefix})
	var want []domain.Event
	for _, st := range []string{a, b} {
		want = append(want, filter(all, func(e domain.Event) bool { return e.Stream == st })...)
	}
	slices.SortStableFunc(got, func(x, y domain.Event) int { return strings.Compare(x.Stream, y.Stream) })
	slices.SortStableFunc(want, func(x, y domain.Event) int { return strings.Compare(x.Stream, y.Stream) })
	same("by stream", got, lean(want))
	for i := 1; i < len(got); i++ { // every stream in one run, in version order
		if got[i].Stream == got[i-1].Stream && got[i].StreamVersion != got[i-1].StreamVersion+1 {
			t.Fatalf("by stream: %s version %d after %d", got[i].Stream, got[i].StreamVersion, got[i-1].StreamVersion)
		}
	}
	runs := 0
	raw := scan(domain.Scan{Through: head, ByStream: true, StreamPrefix: prefix})
	for i := range raw {
		if i == 0 || raw[i].Stream != raw[i-1].Stream {
			runs++
		}
	}
	if runs != 2 {
		t.Fatalf("by stream: the two streams came in %d runs, want 2", runs)
	}
	mid := all[5].Position
	same("by stream, through", scan(domain.Scan{Through: mid, ByStream: true, StreamPrefix: a}),
		lean(filter(all, func(e domain.Event) bool { return e.Stream == a && !mid.Less(e.Position) })))
}
