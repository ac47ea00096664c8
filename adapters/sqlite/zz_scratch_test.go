package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidemark/tidemark/adapters/sqlite"
	"github.com/tidemark/tidemark/domain"
)

func BenchmarkScratchBatch64(b *testing.B) {
	s, _ := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "e.db"), sqlite.Options{})
	defer s.Close()
	ctx := context.Background()
	b.ResetTimer()
	var inTx time.Duration
	for i := range b.N {
		b.StopTimer()
		reqs := make([]domain.AppendRequest, 64)
		for k := range reqs {
			data := []byte(fmt.Sprintf(`{"n":%d,"k":%d}`, i, k))
			reqs[k] = domain.AppendRequest{Stream: fmt.Sprintf("s-%d", k), Expected: domain.AnyVersion, Events: []domain.NewEvent{{ID: domain.EventID("x", data), Type: "t", Data: data, Raw: data}}}
		}
		b.StartTimer()
		t0 := time.Now()
		_, _, err := s.AppendBatch(ctx, reqs)
		inTx += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*64)/inTx.Seconds(), "events/s")
}
