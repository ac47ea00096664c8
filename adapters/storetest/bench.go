package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tidemark/tidemark/adapters/groupcommit"
	"github.com/tidemark/tidemark/domain"
)

// RunBenchmarks measures appends one at a time, appends of 64 concurrent
// callers through group commit, and Import in batches of 10,000. Each
// reports events/s.
func RunBenchmarks(b *testing.B, f Factory) {
	b.Run("append/single", func(b *testing.B) {
		s := opener(b, f)()
		events := evs(b.N)
		ctx := context.Background()
		b.ResetTimer()
		for i := range b.N {
			if _, err := s.Append(ctx, req(fmt.Sprintf("bench.s-%d", i%100), domain.AnyVersion, events[i])); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})

	b.Run("append/groupcommit", func(b *testing.B) {
		const callers = 64
		s := opener(b, f)()
		app := groupcommit.New(s, groupcommit.Options{})
		defer app.Close()
		events := evs(b.N)
		ctx := context.Background()
		var next atomic.Int64
		var failed atomic.Pointer[error]
		var wg sync.WaitGroup
		b.ResetTimer()
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= b.N {
						return
					}
					if _, err := app.Append(ctx, req(fmt.Sprintf("bench.g-%d", i%100), domain.AnyVersion, events[i])); err != nil {
						failed.Store(&err)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.StopTimer()
		if err := failed.Load(); err != nil {
			b.Fatal(*err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})

	b.Run("import", func(b *testing.B) {
		const batch = 10_000
		s := opener(b, f)()
		ctx := context.Background()
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			events := make([]domain.ImportEvent, batch)
			for k := range events {
				events[k] = domain.ImportEvent{
					Stream:        fmt.Sprintf("bench.i%d-%d", i, k%100),
					StreamVersion: int64(k/100 + 1),
					NewEvent:      ev("bench.Imported"),
				}
			}
			b.StartTimer()
			n, err := s.Import(ctx, events)
			if err != nil {
				b.Fatal(err)
			}
			if n != batch {
				b.Fatalf("import wrote %d of %d", n, batch)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
	})
}
