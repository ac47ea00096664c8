package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/tidemark/tidemark/adapters/groupcommit"
	"github.com/tidemark/tidemark/domain"
)

// testGroupCommit: many concurrent callers through one Appender, one of them
// conflicting and two delivering the same event: each gets its own outcome.
func testGroupCommit(t *testing.T, open func() domain.EventStore) {
	s := open()
	ctx := ctxT(t)
	app := groupcommit.New(s, groupcommit.Options{MaxBatch: 16})
	defer app.Close()

	taken := stream("taken")
	mustAppend(t, s, req(taken, domain.NoStream, ev("x")))
	dup := ev("x")
	dupStream := stream("dup")

	const callers = 100
	type outcome struct {
		res domain.AppendResult
		err error
	}
	outs := make([]outcome, callers+3)
	reqs := make([]domain.AppendRequest, callers+3)
	for i := range callers {
		reqs[i] = req(fmt.Sprintf("%s-%d", stream("gc"), i), domain.NoStream, evs(1+i%2)...)
	}
	reqs[callers] = req(taken, domain.NoStream, ev("x")) // conflicts
	reqs[callers+1] = req(dupStream, domain.AnyVersion, dup)
	reqs[callers+2] = req(dupStream, domain.NoStream, dup)
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := app.Append(ctx, reqs[i])
			outs[i] = outcome{res, err}
		}()
	}
	wg.Wait()

	seen := map[domain.Position]bool{}
	for i := range callers {
		o := outs[i]
		if o.err != nil {
			t.Fatalf("caller %d: %v", i, o.err)
		}
		if len(o.res.Positions) != len(reqs[i].Events) || o.res.StreamVersion != int64(len(reqs[i].Events)) {
			t.Fatalf("caller %d: result %+v for %d events", i, o.res, len(reqs[i].Events))
		}
		for _, p := range o.res.Positions {
			if seen[p] {
				t.Fatalf("caller %d: position %v given twice", i, p)
			}
			seen[p] = true
		}
	}
	wantErr(t, outs[callers].err, domain.ErrWrongExpectedVersion, "conflicting caller")
	d1, d2 := outs[callers+1], outs[callers+2]
	if d1.err != nil || d2.err != nil {
		t.Fatalf("same event from two callers: %v, %v", d1.err, d2.err)
	}
	if d1.res.Positions[0] != d2.res.Positions[0] || d1.res.Duplicates[0] == d2.res.Duplicates[0] {
		t.Fatalf("same event from two callers: %+v and %+v; want one write and one duplicate", d1.res, d2.res)
	}

	all := readAllFrom(t, s, domain.Start, 50)
	checkIncreasing(t, all)
	if want := 1 + len(seen) + 1; len(all) != want {
		t.Fatalf("log holds %d events, want %d", len(all), want)
	}
	for _, e := range all {
		if e.Stream == taken && e.StreamVersion != 1 {
			t.Fatalf("the conflicting caller's event was written: %+v", e)
		}
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := app.Append(canceled, req(stream("late"), domain.NoStream, ev("x")))
	wantErr(t, err, context.Canceled, "append with an ended ctx")
	if err := app.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	_, err = app.Append(ctx, req(stream("late"), domain.NoStream, ev("x")))
	wantErr(t, err, domain.ErrUnavailable, "append after Close")
	if got := readAllFrom(t, s, domain.Start, 500); len(got) != len(all) {
		t.Fatalf("refused appends were written: %d events, want %d", len(got), len(all))
	}
}
