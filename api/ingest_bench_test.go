package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidemark/tidemark/api"
)

// BenchmarkIngest drives the real callback endpoint over loopback with 64
// concurrent clients, on each store; it reports callbacks/s.
func BenchmarkIngest(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			h := newHarness(b, be, api.Config{})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
			var seq atomic.Int64
			b.SetParallelism(32) // 32 × GOMAXPROCS(2) = 64 clients
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.Add(1)
					body := fmt.Appendf(nil, `{"callTime":%d,"callbackType":"FINISH_WASH","iotId":%d,"orderId":"B-%d"}`, 1732262400000+i, 1000+i%500, i)
					resp, err := client.Post(h.url+"/v1/callbacks/carwash", "application/json", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body) // drained, so the connection is reused
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "callbacks/s")
		})
	}
}
