package api_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tidemark/tidemark/api"
)

// reserialise writes the same JSON object with another key order and spacing.
func reserialise(t testing.TB, body []byte, rng *rand.Rand) []byte {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	out := []byte("{\n")
	for i, k := range keys {
		if i > 0 {
			out = append(out, " ,\n  "...)
		}
		out = append(out, fmt.Sprintf("%q :  %s", k, obj[k])...)
	}
	return append(out, "\n}"...)
}

// Each of 1,000 callbacks delivered 4 times concurrently, some re-serialised:
// exactly 1,000 events stored and all 4,000 answers 200.
func TestDuplicateDeliveryStoredOnce(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		h := newHarness(t, b, api.Config{})
		rng := rand.New(rand.NewPCG(1, 2))
		type delivery struct {
			source string
			body   []byte
		}
		var deliveries []delivery
		for i := 0; i < n; i++ {
			var source string
			var body []byte
			if i%2 == 0 {
				source = "carwash"
				body = fmt.Appendf(nil, `{"callTime":%d,"callbackType":"FINISH_WASH","iotId":%d,"orderId":"O-%d"}`, 1732262400000+i, 1000+i%37, i)
			} else {
				source = "energy"
				body = fmt.Appendf(nil, `{"orderId":"E%05d","residue":%d,"totalDelegateNums":%d,"energyNums":"65000","orderMoney":%d}`, i%101, i%7, i%9, 1000000+i)
			}
			for k := 0; k < 4; k++ {
				d := delivery{source, body}
				if k%2 == 1 {
					d.body = reserialise(t, body, rng)
				}
				deliveries = append(deliveries, d)
			}
		}
		rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
		var wg sync.WaitGroup
		var bad atomic.Int64
		work := make(chan delivery)
		for w := 0; w < 32; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for d := range work {
					if a := post(t, h.url+"/v1/callbacks/"+d.source, "application/json", d.body); a.status != http.StatusOK {
						bad.Add(1)
						t.Errorf("%s: %d %s", d.body, a.status, a.body)
					}
				}
			}()
		}
		for _, d := range deliveries {
			work <- d
		}
		close(work)
		wg.Wait()
		if bad.Load() != 0 {
			t.Fatalf("%d of %d answers were not 200", bad.Load(), len(deliveries))
		}
		events := waitEvents(t, h.store, n)
		if len(events) != n {
			t.Fatalf("%d events stored for %d distinct callbacks", len(events), n)
		}
		ids := map[string]bool{}
		for _, e := range events {
			if ids[e.ID] {
				t.Fatalf("event %s stored twice", e.ID)
			}
			ids[e.ID] = true
		}
	})
}
